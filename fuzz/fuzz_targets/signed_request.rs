#![no_main]
//! See `graphhook_fuzz::signed_request`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| graphhook_fuzz::signed_request(data));
