//! What every board's `main` runs once its clock and LED are up (`#[path]`-included next to
//! `digits.rs`; boards only: it prints with defmt). The RAM budgets are the same on every
//! board; each board asserts they leave half of its own RAM with [`budgets_fit`].

use crate::digits::{self, Head, HeadOptimizer, Tuned, FINE_TUNE, INFERENCE};
use neurite::prelude::Trainer;

/// RAM this firmware promises for inference (weights stay in flash).
pub const INFERENCE_RAM_BUDGET: usize = 16 * 1024;
/// RAM this firmware promises for fine-tuning the head.
pub const FINE_TUNE_RAM_BUDGET: usize = 32 * 1024;
const _: () =
    assert!(INFERENCE.buffers <= INFERENCE_RAM_BUDGET, "inference exceeds its RAM budget");
const _: () =
    assert!(FINE_TUNE.ram() <= FINE_TUNE_RAM_BUDGET, "fine-tuning exceeds its RAM budget");

/// Whether both budgets together leave at least half of `ram` bytes free.
pub const fn budgets_fit(ram: usize) -> bool {
    INFERENCE_RAM_BUDGET + FINE_TUNE_RAM_BUDGET <= ram / 2
}

/// Names the board, classifies the fixed sample, takes one fine-tuning step and prints the
/// compile-time RAM figures.
pub fn run(board: &str, model: &mut Tuned, trainer: &mut Trainer<Head>, opt: &mut HeadOptimizer) {
    defmt::println!("neurite on the {=str}: digits 64-64-10", board);
    let x = digits::standardise(&digits::SAMPLE);
    let (class, _) = digits::predict(model, &x);
    defmt::println!("inference: predicted class {=usize} (label {=usize})", class, digits::LABEL);
    match digits::fine_tune_step(model, trainer, opt, &x, digits::LABEL) {
        Some((before, after)) => defmt::println!(
            "fine-tuning: 1 SGD step of the head, loss {=f32} -> {=f32}",
            before,
            after
        ),
        None => defmt::println!("fine-tuning: sample refused"),
    }
    defmt::println!(
        "RAM (compile time): inference {=usize} bytes of buffers, fine-tuning {=usize} bytes; {=usize} bytes of weights in flash",
        INFERENCE.buffers,
        FINE_TUNE.ram(),
        FINE_TUNE.frozen
    );
}
