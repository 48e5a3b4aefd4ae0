#![no_main]
//! See `graphhook_fuzz::graph_answer`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| graphhook_fuzz::graph_answer(data));
