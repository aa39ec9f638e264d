//! Soak run (Cortex-M4F in QEMU): the demo's on-device fine-tuning kept going for 100,000
//! optimiser steps, to show it stays finite, keeps its accuracy and runs in bounded RAM.
//!
//! As in the demo (`ondevice::fine_tune`): labelled samples arrive one by one through the
//! shifted sensor (`DEVICE`) and the I2C driver into a heapless ring buffer; each full buffer
//! is a minibatch for the head (in RAM) behind the frozen layers (in flash), trained with the
//! demo's SGD with momentum (`HEAD_SGD`: lr 0.01, momentum 0.9). The stream cycles through the
//! training rows. Unlike the demo, a buffer holds [`BATCH`] samples and is stepped on once:
//! a step on the demo's 32 samples costs about 809,000 instructions, and 100,000 of them
//! would take about 5 minutes in QEMU; 4 passes over each small buffer overfit it and let the
//! accuracy swing by 40 samples (both measured during development).
//!
//! Every [`CHECKPOINT`] steps: the accuracy on the held-out test rows, read through the same
//! sensor, and whether every parameter is finite. At the end: the stack high-water mark of
//! the whole run (stack painting) and the binary's static RAM. All state lives on the stack
//! in fixed-size buffers; nothing is allocated and nothing depends on the number of steps.
#![no_std]
#![no_main]

use heapless::Deque;
use neurite::layer::Infer;
use neurite::loss::{CrossEntropy, Reduction, Target};
use neurite::optim::Optimizer;
use neurite::params::Params;
use neurite::prelude::Trainer;
use neurite_firmware::budget::{Head, HeadOptimizer, FROZEN, HEAD};
use neurite_firmware::digits::{LABELS, PIXELS, TEST_ROWS, TRAIN_ROWS};
use neurite_firmware::model::{INPUT_MEAN, INPUT_STD};
use neurite_firmware::ondevice::{self, DEVICE, HEAD_SGD};
use neurite_firmware::parity::hash_params;
use neurite_firmware::sensor::{ArraySensor, RawSample, ADDRESS};
use neurite_firmware::sim::SimulatedSensor;
use neurite_firmware::target::{self, InstructionCounter};

neurite_firmware::exit_on_hardfault!();

/// Optimiser steps of the whole run.
const STEPS: u32 = 100_000;
/// Steps between two checkpoints.
const CHECKPOINT: u32 = 10_000;
/// Samples per minibatch (the ring buffer's capacity).
const BATCH: usize = 4;
const _: () = assert!(STEPS.is_multiple_of(CHECKPOINT));

extern "C" {
    /// Start of static RAM (`.data`, cortex-m-rt's `link.x`).
    static __sdata: u32;
    /// End of static RAM (`.data`, `.bss`, `.uninit`): the stack may grow down to here.
    static __sheap: u32;
}

fn or_exit<T, E: core::fmt::Debug>(r: Result<T, E>) -> T {
    r.unwrap_or_else(|e| {
        defmt::error!("soak stopped: {}", defmt::Debug2Format(&e));
        target::exit(false)
    })
}

/// The labelled stream: the training rows in order, through this device's sensor.
fn stream() -> ArraySensor<SimulatedSensor<'static>> {
    let (gain, offset) = (DEVICE.gain, DEVICE.offset);
    let sensor = SimulatedSensor::new(&PIXELS, Some(&LABELS), &TRAIN_ROWS, ADDRESS, gain, offset);
    ArraySensor::new(sensor, ADDRESS)
}

fn params_finite(head: &Head) -> bool {
    (0..<Head as Params>::TENSORS).all(|i| head.tensor(i).iter().all(|v| v.is_finite()))
}

/// What the run ended with.
struct Summary {
    steps: u32,
    samples: u32,
    passes: u32,
    checkpoints: u32,
    params_finite: bool,
    /// Batches whose loss was not finite (the trainer zeroes their gradients).
    nonfinite_batches: u32,
    min_accuracy: u32,
    hash: u64,
    /// Instructions of the first step.
    step_instructions: u32,
}

fn soak(counter: &mut InstructionCounter) -> Summary {
    let mut head: Head = HEAD.clone();
    let mut opt = or_exit(HeadOptimizer::new(HEAD_SGD));
    let mut trainer = Trainer::<Head>::new();
    let ce = CrossEntropy::default();
    let mut ring: Deque<RawSample, BATCH> = Deque::new();
    let mut drv = stream();
    let mut s = Summary {
        steps: 0,
        samples: 0,
        passes: 0,
        checkpoints: 0,
        params_finite: true,
        nonfinite_batches: 0,
        min_accuracy: u32::MAX,
        hash: 0,
        step_instructions: 0,
    };
    while opt.steps() < STEPS {
        // samples arrive one by one until the buffer is full; after the last training row
        // the stream starts over
        while !ring.is_full() {
            let want = BATCH - ring.len();
            let n = or_exit(drv.collect(&mut ring, want));
            if n == 0 {
                drv = stream();
                s.passes += 1;
            }
            s.samples += n as u32;
        }
        // one step on the buffer: the frozen layers from flash, the head's gradients, SGD
        let mut step = || {
            trainer.begin();
            for x in ring.iter() {
                let Some(label) = x.label else { continue };
                let mut features = [0.0; 64];
                FROZEN.forward(&x.to_input(&INPUT_MEAN, &INPUT_STD), &mut features);
                let target = Target::Class(usize::from(label));
                or_exit(trainer.accumulate(&head, &ce, &features, target));
            }
            let loss = trainer.finish(&ce, Reduction::Mean);
            opt.step(&mut head, &trainer.grads);
            loss
        };
        let loss = if s.step_instructions == 0 {
            let mut loss = Ok((0.0, 0.0));
            s.step_instructions = counter.measure(|| loss = step());
            loss
        } else {
            step()
        };
        ring.clear();
        s.nonfinite_batches += u32::from(loss.is_err());
        let steps = opt.steps();
        if steps.is_multiple_of(CHECKPOINT) {
            let finite = params_finite(&head);
            let acc = or_exit(ondevice::accuracy_through_sensor(&head, DEVICE));
            defmt::println!(
                "soak checkpoint: step {=u32}, accuracy {=u32}/{=u32}, params finite {=bool}, batch loss {=f32}",
                steps,
                acc,
                TEST_ROWS.len() as u32,
                finite,
                loss.map_or(f32::NAN, |l| l.0)
            );
            s.checkpoints += 1;
            s.params_finite &= finite;
            s.min_accuracy = s.min_accuracy.min(acc);
        }
    }
    s.steps = opt.steps();
    s.hash = hash_params(&head);
    s
}

#[cortex_m_rt::entry]
fn main() -> ! {
    let cp = cortex_m::Peripherals::take().unwrap_or_else(|| target::exit(false));
    let mut counter = InstructionCounter::new(cp.SYST);
    let n_test = TEST_ROWS.len() as u32;
    defmt::println!("neurite firmware soak: fine-tuning the digits head for {=u32} steps of {=usize} samples on a Cortex-M4F (QEMU mps2-an386)", STEPS, BATCH);
    let before = or_exit(ondevice::accuracy_through_sensor(&HEAD, DEVICE));
    defmt::println!(
        "before fine-tuning, through this device's sensor: accuracy {=u32}/{=u32}",
        before,
        n_test
    );

    // the whole run behind the stack painting: its high-water mark covers the head, the
    // optimiser, the trainer, the ring buffer and every evaluation
    let mut summary = None;
    let stack = target::stack_used_by(|| summary = Some(soak(&mut counter)));
    let s = summary.unwrap_or_else(|| target::exit(false));
    // only the addresses of the linker symbols are taken, never their contents
    let statics = core::ptr::addr_of!(__sheap) as usize - core::ptr::addr_of!(__sdata) as usize;

    defmt::println!(
        "instructions: one step ({=usize} samples: frozen forward, head forward and backward, SGD momentum) {=u32}",
        BATCH,
        s.step_instructions
    );
    defmt::println!("soak: {=u32} samples read through the sensor ({=u32} passes over the {=usize} training rows), params fnv1a {=u64:#018x}", s.samples, s.passes, TRAIN_ROWS.len(), s.hash);
    defmt::println!(
        "soak memory: stack high-water mark {=usize} bytes, static RAM {=usize} bytes",
        stack,
        statics
    );
    let ok = s.steps >= STEPS
        && s.checkpoints == STEPS / CHECKPOINT
        && s.params_finite
        && s.nonfinite_batches == 0;
    defmt::println!(
        "soak result: steps {=u32} checkpoints {=u32} params_finite {=bool} nonfinite_batches {=u32} min_accuracy {=u32} stack {=usize} static {=usize} {=str}",
        s.steps,
        s.checkpoints,
        s.params_finite,
        s.nonfinite_batches,
        s.min_accuracy,
        stack,
        statics,
        if ok { "passed" } else { "FAILED" }
    );
    target::exit(ok)
}
