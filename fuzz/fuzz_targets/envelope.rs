#![no_main]
//! See `graphhook_fuzz::envelope`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| graphhook_fuzz::envelope(data));
