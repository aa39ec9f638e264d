//! The firmware's portable library on the host: its committed model export is what the host
//! trains, the sensor driver against embedded-hal-mock, the A/B flash store under power cuts
//! at every byte, and the reference values of the parity runs.

use neurite_host::data::Dataset;
use neurite_host::fit::{train, TrainConfig};
use std::path::Path;

const MODEL_RS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../firmware/src/model.rs");
/// What the firmware's model export says it came from.
pub const SOURCE: &str = "the demo's digits model (neurite demo: 64-64-10, Adam, 30 epochs, seed 1)";

/// `src/model.rs` is exactly the export of the demo's model, retrained here (training is
/// deterministic). `NEURITE_BLESS=1` rewrites it.
#[test]
fn firmware_model_is_the_demo_model() {
    let data = Dataset::load_csv(&neurite_host::data::shipped_data_dir().join("digits.csv"), None).unwrap();
    let (tr, te) = data.canonical_split();
    let trained = train(&TrainConfig::digits_demo(30), &tr, &te, |_| {}).unwrap();
    let module = neurite_host::export::rust_module(&trained.saved, SOURCE);
    if std::env::var_os("NEURITE_BLESS").is_some() {
        std::fs::write(MODEL_RS, &module).unwrap();
    }
    let committed = std::fs::read_to_string(Path::new(MODEL_RS)).unwrap();
    assert!(committed == module, "firmware/src/model.rs is stale: run NEURITE_BLESS=1 cargo test -p neurite-tests --test firmware_host");
}
