//! Your firmware, starting point: the model you trained and exported with the `neurite`
//! CLI (`src/model.rs`) runs from flash on standardised sensor readings, fine-tunes its last
//! layer on labelled samples on the device, and saves what it learnt as a model file. The
//! RAM it needs is computed and checked by the compiler; `memory.x` is the part you ship
//! on. docs/GUIDE.md walks through it from a CSV file to a flashed board.
#![no_std]
#![no_main]

#[rustfmt::skip]
mod model;
mod samples;

use cortex_m_semihosting::debug;
use defmt_semihosting as _; // defmt output through semihosting (QEMU); defmt-rtt on a board
use neurite::footprint::{self, Footprint};
use neurite::layer::{FineTune, FineTuneAfter, Infer, Layer, Split};
use neurite::loss::{CrossEntropy, Reduction, Target};
use neurite::model_file::{load_typed, save_typed, Task};
use neurite::optim::{valid, Optimizer, Sgd, SgdConfig};
use neurite::params::Params;
use neurite::prelude::Trainer;

/// How many of the model's first layers stay frozen in flash; the layers after them (here
/// the last `Dense`) are fine-tuned on the device. Their types are derived from
/// `model::Model`: nothing to rewrite when you export another model.
const FROZEN_LAYERS: usize = 2;
/// The fine-tuning: the model's first `FROZEN_LAYERS` layers borrowed, the rest trained.
type Tuned = FineTuneAfter<'static, model::Model, FROZEN_LAYERS>;
/// The layers fine-tuned on the device (derived: `Dense<16, 3>` for the shipped model).
type Head = <model::Model as Split<FROZEN_LAYERS>>::Tail;
/// The on-device optimiser: plain SGD (no state).
type HeadOptimizer = Sgd<<Head as Layer>::Grads>;
/// Its settings; `valid!` makes an invalid one (a negative learning rate, momentum without a
/// momentum buffer in the type) a compile error.
const HEAD_SGD: SgdConfig = SgdConfig::new(0.05);
const _: HeadOptimizer = valid!(HeadOptimizer::new(HEAD_SGD));

/// The model in flash.
static MODEL: model::Model = model::MODEL;

/// RAM of inference (weights in flash) and of fine-tuning the head, at compile time.
const INFERENCE: Footprint = footprint::inference::<model::Model>();
const FINE_TUNE: Footprint =
    footprint::fine_tuning_after::<model::Model, FROZEN_LAYERS, HeadOptimizer>();
const _: () = assert!(INFERENCE.buffers <= 1024, "inference needs more RAM than budgeted");
const _: () = assert!(FINE_TUNE.ram() <= 8 * 1024, "fine-tuning needs more RAM than budgeted");

/// `(x - mean) / std` with the training data's statistics, as the CLI did when training.
fn standardise(raw: &[f32; 4]) -> [f32; 4] {
    core::array::from_fn(|i| (raw[i] - model::INPUT_MEAN[i]) / model::INPUT_STD[i])
}

fn exit(ok: bool) -> ! {
    defmt::println!("template {=str}", if ok { "passed" } else { "FAILED" });
    let code = if ok { debug::EXIT_SUCCESS } else { debug::EXIT_FAILURE };
    loop {
        debug::exit(code);
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    defmt::error!("panic: {}", defmt::Display2Format(info));
    exit(false)
}

#[cortex_m_rt::entry]
fn main() -> ! {
    // 1. inference from flash, with a check that catches a bad reading (NaN, infinity)
    let mut correct = 0;
    for (raw, label) in samples::SAMPLES.iter() {
        let mut scores = [0.0f32; 3];
        if let Err(e) = MODEL.forward_checked(&standardise(raw), &mut scores) {
            defmt::println!("bad reading: {}", defmt::Display2Format(&e));
            exit(false);
        }
        correct += usize::from(neurite::kernel::reduce::argmax(&scores) == *label);
    }
    defmt::println!("inference: {=usize}/{=usize} samples right", correct, samples::SAMPLES.len());
    let mut bad = [0.0f32; 3];
    let nan = MODEL.forward_checked(&[f32::NAN, 0.0, 0.0, 0.0], &mut bad);
    defmt::println!("a NaN reading is refused: {=bool}", nan.is_err());

    // 2. fine-tune the head on the labelled samples (the frozen layers stay in flash)
    let mut tuner: Tuned = FineTune::after(&MODEL);
    let mut trainer = Trainer::<Head>::new();
    let Ok(mut opt) = HeadOptimizer::new(HEAD_SGD) else { exit(false) };
    let ce = CrossEntropy::default();
    let mut losses = [0.0f32; 2];
    for epoch in 0..20 {
        trainer.begin();
        for (raw, label) in samples::SAMPLES.iter() {
            if tuner
                .accumulate(&mut trainer, &ce, &standardise(raw), Target::Class(*label))
                .is_err()
            {
                exit(false);
            }
        }
        let Ok((loss, _)) = trainer.finish(&ce, Reduction::Mean) else { exit(false) };
        tuner.step(&mut opt, &trainer);
        if epoch == 0 {
            losses[0] = loss;
        }
        losses[1] = loss;
    }
    defmt::println!(
        "fine-tuning: loss {=f32} -> {=f32} in {=u32} steps",
        losses[0],
        losses[1],
        opt.steps()
    );

    // 3. save what was learnt as a model file (write these bytes to flash with your chip's
    //    embedded-storage driver; firmware/src/storage.rs keeps two copies safe from power
    //    cuts) and read it back
    let mut file = [0u8; 512];
    let Ok(n) = save_typed(&tuner.head, Task::Classification, &mut file) else { exit(false) };
    let Ok(back) = load_typed::<Head>(&file[..n]) else { exit(false) };
    let same = (0..Head::TENSORS).all(|t| back.tensor(t) == tuner.head.tensor(t));
    defmt::println!("saved the head: model file {=usize} bytes, read back equal: {=bool}", n, same);

    defmt::println!(
        "RAM (compile time): inference {=usize} bytes, fine-tuning {=usize} bytes",
        INFERENCE.buffers,
        FINE_TUNE.ram()
    );
    exit(correct * 4 >= samples::SAMPLES.len() * 3 && nan.is_err() && losses[1] < losses[0] && same)
}
