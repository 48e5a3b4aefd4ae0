#![no_main]
//! See `graphhook_fuzz::publish_request`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| graphhook_fuzz::publish_request(data));
