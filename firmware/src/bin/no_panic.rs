//! The core's inference and fine-tuning with no reachable panic. `main` runs a checked
//! inference of the digits model from flash and one fine-tuning step of its head (the
//! demo's: frozen layers in flash, SGD with momentum) on an input the compiler cannot see;
//! with LTO the core's code is inlined into `main`, and `tests/tests/firmware_qemu.rs`
//! disassembles this binary and requires that `main` calls no panic function (every
//! index, length and overflow check in that path proven away by the compiler, or never
//! emitted). The run itself exits with success when both calls returned `Ok`.
#![no_std]
#![no_main]

use core::hint::black_box;
use neurite::layer::Infer;
use neurite::loss::{CrossEntropy, Reduction, Target};
use neurite::optim::Optimizer;
use neurite::prelude::Trainer;
use neurite::train::FineTune;
use neurite_firmware::budget::{Head, HeadOptimizer, FROZEN, HEAD};
use neurite_firmware::model::MODEL;
use neurite_firmware::{ondevice, target};

neurite_firmware::exit_on_hardfault!();

#[cortex_m_rt::entry]
fn main() -> ! {
    let x: [f32; 64] = black_box([0.25; 64]);
    let label = black_box(3usize);
    let mut y = [0.0f32; 10];
    let inferred = MODEL.forward_checked(&x, &mut y).is_ok();

    let Ok(mut opt) = HeadOptimizer::new(ondevice::HEAD_SGD) else { target::exit(false) };
    let mut tuned = FineTune::new(&FROZEN, HEAD.clone());
    let mut trainer = Trainer::<Head>::new();
    let ce = CrossEntropy::default();
    trainer.begin();
    let accumulated = tuned.accumulate(&mut trainer, &ce, &x, Target::Class(label)).is_ok();
    let finished = trainer.finish(&ce, Reduction::Mean).is_ok();
    tuned.step(&mut opt, &trainer);
    black_box((&y, &tuned.head, opt.steps()));
    target::exit(inferred && accumulated && finished)
}
