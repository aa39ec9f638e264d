//! Every parser of untrusted input, fed random and mutated inputs (proptest, a bounded
//! number of cases so that it runs in seconds on stable Rust): the model-file readers
//! (host and core), the safetensors importer, the CSV loader and the layer-spec parser
//! return a value or an error, never panic; a single flipped byte of a model file is always
//! refused (CRC-32).

use neurite::model_file::v2::ModelFileV2;
use neurite_host::data::Dataset;
use neurite_host::dynamic::{parse_spec, DynModel};
use neurite_host::export::{from_safetensors, to_safetensors};
use neurite_host::model_io::SavedModel;
use proptest::prelude::*;
use std::path::Path;

/// A small trained-shape model's file and safetensors, the seeds of the mutations.
fn seeds() -> (Vec<u8>, Vec<u8>) {
    let mut m = DynModel::build(&parse_spec("dense(5),relu,dense(3)").unwrap(), &[4]).unwrap();
    m.init(&neurite::init::LayerInit::XAVIER, &mut neurite::rng::Rng::new(1));
    let saved = SavedModel {
        model: m.clone(),
        task: neurite::model_file::Task::Classification,
        means: vec![0.5; 4],
        stds: vec![2.0; 4],
        target_mean: 0.0,
        target_std: 1.0,
        columns: ["a", "b", "c", "d", "y"].map(String::from).to_vec(),
    };
    let file = saved.to_bytes().unwrap();
    (file, to_safetensors(&m).unwrap())
}

/// Found by the `model_file` fuzz target (`fuzz/`): a version-2 file, checksum right, whose
/// input shape's dimensions multiply past `usize` (here four times `u32::MAX`).
/// `ModelFileV2::parse` multiplies them before checking the rank and the dimensions
/// (`core/src/model_file/v2.rs`, `let inputs: usize = shape[..rank.min(4)].iter().product()`):
/// with overflow checks on (this test's profile, the firmware's release profile) it panics
/// instead of returning an error; on a 32-bit target two large dimensions are enough.
#[test]
fn a_huge_input_shape_is_refused() {
    let (mut file, _) = seeds();
    file[7] = 4;
    for i in 0..4 {
        file[8 + 4 * i..12 + 4 * i].copy_from_slice(&u32::MAX.to_le_bytes());
    }
    let n = file.len() - 4;
    let crc = neurite::model_file::crc32(&file[..n]);
    file[n..].copy_from_slice(&crc.to_le_bytes());
    assert!(ModelFileV2::parse(&file).is_err());
    assert!(SavedModel::from_bytes(&file).is_err());
}

/// Found beside the fuzz targets (fuzz/README.md, "Findings"; their inputs are too short to
/// reach it): `ModelFileV2::parse` checks that bodies nest with a recursive walk
/// (`skip_body` in `core/src/model_file/v2.rs`), one stack frame per level, so a file of
/// 300,000 `residual` records inside one another (6 MB) overflows a 1 MiB stack and aborts
/// the process instead of returning (a firmware's stack is a few KiB; the desktop loader
/// refuses more than `MAX_NESTING` levels, but only after this parse).
#[test]
fn deeply_nested_records_do_not_overflow_the_stack() {
    use neurite::model_file::v2::{HeaderV2, WriterV2};
    let depth = 300_000;
    let mut file = vec![0u8; 64 + 20 * (depth + 1)];
    let mut w = WriterV2::new(&mut file);
    for _ in 0..depth {
        w.record("residual", 1, 0, 0, &[]).unwrap();
    }
    w.record("relu", 0, 0, 0, &[]).unwrap();
    let header = HeaderV2 {
        task: neurite::model_file::Task::Classification,
        input_shape: &[4],
        columns: &[],
        means: &[],
        stds: &[],
        target_mean: 0.0,
        target_std: 1.0,
    };
    let len = w.finish(&header, [], []).unwrap();
    file.truncate(len);
    // accepted or refused, either is an answer; today the process aborts before one
    let parse = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || ModelFileV2::parse(&file).map(|f| f.record_count()))
        .unwrap();
    assert!(parse.join().is_ok());
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn model_file_readers_never_panic_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = SavedModel::from_bytes(&bytes);
        let _ = ModelFileV2::parse(&bytes);
        // with the magic number and version in front, the parser gets further
        let mut framed = b"NRTM\x02\x00".to_vec();
        framed.extend_from_slice(&bytes);
        let _ = SavedModel::from_bytes(&framed);
        let _ = ModelFileV2::parse(&framed);
    }

    #[test]
    fn a_flipped_byte_of_a_model_file_is_refused(at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let (file, _) = seeds();
        let mut bad = file.clone();
        let i = at.index(bad.len());
        bad[i] ^= 1 << bit;
        prop_assert!(SavedModel::from_bytes(&bad).is_err(), "flip at {i} accepted");
        prop_assert!(ModelFileV2::parse(&bad).is_err());
    }

    #[test]
    fn truncated_or_extended_model_files_never_panic(cut in any::<prop::sample::Index>(), tail in proptest::collection::vec(any::<u8>(), 0..16)) {
        let (file, _) = seeds();
        let n = cut.index(file.len());
        let _ = SavedModel::from_bytes(&file[..n]);
        let mut longer = file.clone();
        longer.extend_from_slice(&tail);
        let _ = SavedModel::from_bytes(&longer);
    }

    #[test]
    fn the_safetensors_importer_never_panics(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4), random in proptest::collection::vec(any::<u8>(), 0..200)) {
        let (_, st) = seeds();
        let mut bad = st.clone();
        for (at, v) in &flips {
            let i = at.index(bad.len());
            bad[i] = *v;
        }
        let _ = from_safetensors(&bad, None, None);
        let _ = from_safetensors(&bad, Some("dense(5),relu,dense(3)"), Some(&[4]));
        let _ = from_safetensors(&random, None, None);
    }

    #[test]
    fn the_csv_loader_never_panics(text in "[a-z0-9,.\\-\"\\r\\n eE+]{0,200}") {
        let _ = Dataset::from_csv_text(&text, Path::new("fuzz.csv"), None);
        let _ = Dataset::from_csv_text(&format!("a,b,y\n{text}"), Path::new("fuzz.csv"), Some("y"));
    }

    #[test]
    fn the_spec_parser_and_builder_never_panic(spec in "[a-z_0-9(),=. ]{0,60}", inputs in 1usize..64) {
        if let Ok(nodes) = parse_spec(&spec) {
            let _ = DynModel::build(&nodes, &[inputs]);
            let _ = DynModel::build(&nodes, &[1, 8, 8]);
        }
    }
}
