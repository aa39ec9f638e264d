//! The on-device learning procedure, portable so the host runs exactly what the MCU runs:
//! read samples through the sensor driver into a ring buffer, fine-tune the head behind the
//! frozen layers, and measure accuracy through the sensor.

use crate::budget::{Head, HeadOptimizer, FROZEN};
use crate::digits::{LABELS, PIXELS, TEST_ROWS};
use crate::model::{INPUT_MEAN, INPUT_STD};
use crate::sensor::{ArraySensor, RawSample, ADDRESS};
use crate::sim::SimulatedSensor;
use heapless::Deque;
use neurite::layer::{Infer, Layer};
use neurite::loss::{CrossEntropy, Reduction, Target};
use neurite::optim::{valid, Optimizer, SgdConfig};
use neurite::prelude::Trainer;
use neurite::train::FineTune;

/// A device's sensor: its gain and offset (in raw counts) against the nominal transfer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Device {
    /// Gain (nominal 1).
    pub gain: f32,
    /// Offset in raw counts (nominal 0).
    pub offset: f32,
}

/// This demo's device.
pub const DEVICE: Device = Device { gain: 0.8, offset: 12.0 };
/// Labelled samples the demo fine-tunes on.
pub const TUNE_SAMPLES: usize = 640;
/// Samples in the ring buffer, trained on together.
pub const RING: usize = 32;
/// Passes over each full buffer.
pub const EPOCHS_PER_BUFFER: usize = 4;
/// Learning rate of the head's SGD.
pub const LR: f32 = 0.01;
/// Momentum of the head's SGD.
pub const MOMENTUM: f32 = 0.9;
/// The head's SGD: learning rate [`LR`], momentum [`MOMENTUM`].
pub const HEAD_SGD: SgdConfig = SgdConfig { momentum: MOMENTUM, ..SgdConfig::new(LR) };
// `HEAD_SGD` fits `HeadOptimizer` (a momentum buffer for a momentum > 0), or the firmware
// does not compile. The optimiser itself is built at run time: a `const` of it would be
// copied from 2.6 KB of flash, zeros nearly all.
const _: HeadOptimizer = valid!(HeadOptimizer::new(HEAD_SGD));

/// What fine-tuning did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Report {
    /// Samples read from the sensor.
    pub samples: usize,
    /// Optimiser steps.
    pub steps: u32,
    /// Loss of the last batch.
    pub last_loss: f32,
}

/// Why the procedure stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The sensor could not be read.
    Sensor,
    /// A sample or label was rejected by the trainer.
    Sample,
    /// The optimiser refused its config (not with [`HEAD_SGD`], checked at compile time).
    Optimizer,
}

/// Correct predictions of `head` behind the frozen layers on the test rows, read through
/// `device`'s sensor.
pub fn accuracy_through_sensor(head: &Head, device: Device) -> Result<u32, Failure> {
    let ft = FineTune::new(&FROZEN, head.clone());
    accuracy_with(device, |s| {
        let mut y = [0.0; 10];
        ft.forward(&s.to_input(&INPUT_MEAN, &INPUT_STD), &mut y);
        y
    })
}

/// Correct predictions of `predict` on the test rows, read through `device`'s sensor.
pub fn accuracy_with(
    device: Device,
    mut predict: impl FnMut(&RawSample) -> [f32; 10],
) -> Result<u32, Failure> {
    let sensor =
        SimulatedSensor::new(&PIXELS, None, &TEST_ROWS, ADDRESS, device.gain, device.offset);
    let mut drv = ArraySensor::new(sensor, ADDRESS);
    let mut correct = 0u32;
    for &row in TEST_ROWS.iter() {
        let s = drv.read().map_err(|_| Failure::Sensor)?;
        let y = predict(&s);
        correct +=
            u32::from(neurite::kernel::reduce::argmax(&y) == usize::from(LABELS[usize::from(row)]));
    }
    Ok(correct)
}

/// The head's optimiser before its first step ([`HEAD_SGD`]).
pub fn new_optimizer() -> Result<HeadOptimizer, Failure> {
    HeadOptimizer::new(HEAD_SGD).map_err(|_| Failure::Optimizer)
}

/// Fine-tunes `head` with `opt` (fresh from [`new_optimizer`], or restored from flash after a
/// reboot: training goes on where it stopped) on the labelled `rows` arriving through
/// `device`'s sensor: each time the ring buffer fills, `EPOCHS_PER_BUFFER` SGD steps on it.
/// `on_buffer(samples, loss)` reports progress.
pub fn fine_tune(
    head: Head,
    opt: &mut HeadOptimizer,
    device: Device,
    rows: &[u16],
    on_buffer: impl FnMut(usize, f32),
) -> Result<(Head, Report), Failure> {
    let features = |s: &RawSample| {
        let mut y = [0.0; 64];
        FROZEN.forward(&s.to_input(&INPUT_MEAN, &INPUT_STD), &mut y);
        y
    };
    fine_tune_head(head, opt, features, device, rows, on_buffer)
}

/// Fine-tunes a classifier `head` behind any frozen feature extractor: `features(sample)` is
/// the frozen layers' output for a sample read through `device`'s sensor (the frozen layers
/// stay in flash; features are recomputed on each pass, so RAM holds raw samples only).
/// Each time the ring buffer fills, `EPOCHS_PER_BUFFER` optimiser steps on it.
pub fn fine_tune_head<H, O>(
    mut head: H,
    opt: &mut O,
    features: impl Fn(&RawSample) -> H::Input,
    device: Device,
    rows: &[u16],
    mut on_buffer: impl FnMut(usize, f32),
) -> Result<(H, Report), Failure>
where
    H: Layer<Output = [f32; 10]>,
    O: Optimizer<H::Grads>,
{
    let sensor =
        SimulatedSensor::new(&PIXELS, Some(&LABELS), rows, ADDRESS, device.gain, device.offset);
    let mut drv = ArraySensor::new(sensor, ADDRESS);
    let mut ring: Deque<RawSample, RING> = Deque::new();
    let mut trainer = Trainer::<H>::new();
    let (mut samples, mut last_loss) = (0, f32::NAN);
    loop {
        let n = drv.collect(&mut ring, RING).map_err(|_| Failure::Sensor)?;
        if n == 0 {
            break;
        }
        samples += n;
        // the labelled samples only
        let labelled =
            || ring.iter().filter_map(|s| s.label.map(|l| (features(s), usize::from(l))));
        last_loss = class_steps(&mut head, opt, &mut trainer, EPOCHS_PER_BUFFER, labelled)?;
        ring.clear();
        on_buffer(samples, last_loss);
    }
    Ok((head, Report { samples, steps: opt.steps(), last_loss }))
}

/// `passes` optimiser steps of `head` on one buffer, each on the mean cross-entropy of the
/// `(features, class)` pairs `samples()` yields (called once per pass, in the same order);
/// returns the last step's loss. The ring-buffer training of both fine-tuning procedures.
pub fn class_steps<H, O, I>(
    head: &mut H,
    opt: &mut O,
    trainer: &mut Trainer<H>,
    passes: usize,
    samples: impl Fn() -> I,
) -> Result<f32, Failure>
where
    H: Layer,
    O: Optimizer<H::Grads>,
    I: Iterator<Item = (H::Input, usize)>,
{
    let ce = CrossEntropy::default();
    let mut loss = f32::NAN;
    for _ in 0..passes {
        trainer.begin();
        for (x, class) in samples() {
            trainer.accumulate(head, &ce, &x, Target::Class(class)).map_err(|_| Failure::Sample)?;
        }
        loss = trainer.finish(&ce, Reduction::Mean).map_err(|_| Failure::Sample)?.0;
        opt.step(head, &trainer.grads);
    }
    Ok(loss)
}
