//! Model files: the core's version-1 and version-2/3 readers and the desktop loader.
//! The body is `neurite_tests::fuzz::model_file` (`tests/src/fuzz.rs`), which
//! `tests/tests/fuzz_corpus.rs` also replays the committed corpus through.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| neurite_tests::fuzz::model_file(data));
