//! The safetensors importer.
//! The body is `neurite_tests::fuzz::safetensors` (`tests/src/fuzz.rs`), which
//! `tests/tests/fuzz_corpus.rs` also replays the committed corpus through.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| neurite_tests::fuzz::safetensors(data));
