#![no_main]
//! See `graphhook_fuzz::signature`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| graphhook_fuzz::signature(data));
