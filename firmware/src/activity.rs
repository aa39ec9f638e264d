//! The activity GRU on the device (`src/activity_model.rs`, trained on the host from the
//! simulated accelerometer: `gru(16),dense(4)` over windows of 32 samples of 3 axes):
//! streaming inference, one accelerometer sample per time step with the hidden state carried
//! between samples, and fine-tuning of the dense head on a prompted calibration session (the
//! user performs the activities the device asks for) when this unit's accelerometer is not
//! the part the model was trained with. Portable: the host runs exactly this code.

use crate::accel::Accelerometer;
use crate::activity_model::{INPUT_MEAN, INPUT_STD, MODEL};
use crate::motion::{schedule, AXES, CLASSES, WINDOW};
use crate::ondevice::{class_steps, Failure};
use crate::parity::Fnv;
use crate::sim::{AccelCalibration, SimulatedAccelerometer};
use embedded_hal::i2c::I2c;
use heapless::Deque;
use neurite::layer::{Dense, Gru, Infer, Layer};
use neurite::optim::{valid, Optimizer, SgdConfig, SgdMomentum};
use neurite::prelude::Trainer;

/// Hidden units.
pub const HIDDEN: usize = 16;
/// The recurrent layer (frozen, in flash).
pub type Recurrent = Gru<AXES, HIDDEN, WINDOW>;
/// The classifier on the last hidden state (fine-tuned).
pub type Head = Dense<HIDDEN, CLASSES>;
/// The head's optimiser: SGD with momentum.
pub type HeadOptimizer = SgdMomentum<<Head as Layer>::Grads>;

/// The GRU as exported, in flash.
pub static RECURRENT: Recurrent = MODEL.0 .0;
/// The head as exported, in flash (copied to RAM to fine-tune).
pub static HEAD: Head = MODEL.1;

/// This unit's accelerometer: sensitivities and zero-g offsets of an uncalibrated part
/// (the model was trained on the nominal part, [`AccelCalibration::NOMINAL`]).
pub const DEVICE: AccelCalibration =
    AccelCalibration { gain: [0.8, 1.25, 0.75], offset: [0.25, -0.2, 0.3] };
/// Windows of the test session (50 of each activity).
pub const TEST_WINDOWS: usize = 200;
/// Seed of the test session.
pub const TEST_SEED: u64 = 7;
/// Windows of the calibration session (32 of each activity, 2.7 minutes at 25 Hz).
pub const CALIBRATION_WINDOWS: usize = 128;
/// Seed of the calibration session.
pub const CALIBRATION_SEED: u64 = 8;
/// Windows in the ring buffer, trained on together.
pub const RING: usize = 32;
/// Optimiser steps on each full buffer.
pub const EPOCHS_PER_BUFFER: usize = 8;
/// The head's SGD: learning rate 0.1, momentum 0.9.
pub const HEAD_SGD: SgdConfig = SgdConfig { momentum: 0.9, ..SgdConfig::new(0.1) };
const _: HeadOptimizer = valid!(HeadOptimizer::new(HEAD_SGD));

/// The streaming state: the hidden state after the samples seen so far in this window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stream {
    /// The GRU's hidden state.
    pub h: [f32; HIDDEN],
    /// Samples of the window seen so far.
    pub t: usize,
}

impl Default for Stream {
    fn default() -> Self {
        Self::new()
    }
}

impl Stream {
    /// Before a window's first sample: the zero state.
    pub const fn new() -> Self {
        Self { h: [0.0; HIDDEN], t: 0 }
    }

    /// One time step: the sample `g` (in g) standardised as the host trained
    /// (`(g - mean) / std` per time step and axis), then the GRU's step.
    pub fn push(&mut self, g: [f32; AXES]) {
        let k = (self.t % WINDOW) * AXES;
        let x: [f32; AXES] =
            core::array::from_fn(|a| (g[a] - INPUT_MEAN[k + a]) / INPUT_STD[k + a]);
        RECURRENT.step(&x, &mut self.h);
        self.t += 1;
    }
}

/// Streams one window from the accelerometer: its last hidden state (the head's input).
pub fn window_features<I: I2c>(drv: &mut Accelerometer<I>) -> Result<[f32; HIDDEN], Failure> {
    let mut s = Stream::new();
    for _ in 0..WINDOW {
        s.push(drv.read_g().map_err(|_| Failure::Sensor)?);
    }
    Ok(s.h)
}

/// The whole-window forward of the exported model on `samples` (in g): the bits streaming
/// must reproduce.
pub fn infer_whole(samples: &[[f32; AXES]; WINDOW]) -> [f32; CLASSES] {
    let x: [[f32; AXES]; WINDOW] = core::array::from_fn(|t| {
        core::array::from_fn(|a| {
            (samples[t][a] - INPUT_MEAN[t * AXES + a]) / INPUT_STD[t * AXES + a]
        })
    });
    let mut y = [0.0; CLASSES];
    MODEL.forward(&x, &mut y);
    y
}

/// Reads the first `windows` windows of the test session through `device`'s accelerometer
/// and compares, bit for bit, the streamed GRU and head with the exported model's
/// whole-window forward: the windows where they agree.
pub fn streaming_agrees(device: AccelCalibration, windows: usize) -> Result<usize, Failure> {
    let activities = schedule::<TEST_WINDOWS>(TEST_SEED);
    let sim = SimulatedAccelerometer::new(&activities, TEST_SEED, device);
    let mut drv = Accelerometer::new(sim).map_err(|_| Failure::Sensor)?;
    let mut agree = 0;
    for _ in 0..windows.min(TEST_WINDOWS) {
        let mut samples = [[0.0f32; AXES]; WINDOW];
        let mut s = Stream::new();
        for sample in samples.iter_mut() {
            *sample = drv.read_g().map_err(|_| Failure::Sensor)?;
            s.push(*sample);
        }
        let mut streamed = [0.0; CLASSES];
        HEAD.forward(&s.h, &mut streamed);
        let whole = infer_whole(&samples);
        agree += usize::from(streamed.map(f32::to_bits) == whole.map(f32::to_bits));
    }
    Ok(agree)
}

/// What a test session gave: correct windows and the hash of every output bit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Score {
    /// Windows classified right, of [`TEST_WINDOWS`].
    pub correct: u32,
    /// FNV-1a of every score's bits.
    pub hash: u64,
}

/// Classifies the test session read through `device`'s accelerometer with `head` on the
/// streamed GRU.
pub fn accuracy(head: &Head, device: AccelCalibration) -> Result<Score, Failure> {
    let activities = schedule::<TEST_WINDOWS>(TEST_SEED);
    let sim = SimulatedAccelerometer::new(&activities, TEST_SEED, device);
    let mut drv = Accelerometer::new(sim).map_err(|_| Failure::Sensor)?;
    let (mut correct, mut h) = (0u32, Fnv::new());
    for &label in activities.iter() {
        let mut y = [0.0; CLASSES];
        head.forward(&window_features(&mut drv)?, &mut y);
        y.iter().for_each(|&v| h.add(v));
        correct += u32::from(neurite::kernel::reduce::argmax(&y) == usize::from(label));
    }
    Ok(Score { correct, hash: h.finish() })
}

/// What fine-tuning did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Report {
    /// Windows read.
    pub windows: usize,
    /// Optimiser steps.
    pub steps: u32,
    /// Loss of the last step.
    pub last_loss: f32,
}

/// Fine-tunes `head` on the calibration session read through `device`'s accelerometer: each
/// window streams through the frozen GRU as it arrives and only its last hidden state and
/// the prompted label are kept; each time the ring buffer of [`RING`] windows fills,
/// [`EPOCHS_PER_BUFFER`] SGD steps on it. `on_buffer(windows, loss)` reports progress.
pub fn fine_tune(
    mut head: Head,
    device: AccelCalibration,
    mut on_buffer: impl FnMut(usize, f32),
) -> Result<(Head, Report), Failure> {
    let mut opt = HeadOptimizer::new(HEAD_SGD).map_err(|_| Failure::Optimizer)?;
    let activities = schedule::<CALIBRATION_WINDOWS>(CALIBRATION_SEED);
    let sim = SimulatedAccelerometer::new(&activities, CALIBRATION_SEED, device);
    let mut drv = Accelerometer::new(sim).map_err(|_| Failure::Sensor)?;
    let mut ring: Deque<([f32; HIDDEN], u8), RING> = Deque::new();
    let mut trainer = Trainer::<Head>::new();
    let mut last_loss = f32::NAN;
    for (w, &label) in activities.iter().enumerate() {
        let features = window_features(&mut drv)?;
        ring.push_back((features, label)).map_err(|_| Failure::Sample)?;
        if ring.is_full() || w + 1 == activities.len() {
            let windows = || ring.iter().map(|&(x, label)| (x, usize::from(label)));
            last_loss = class_steps(&mut head, &mut opt, &mut trainer, EPOCHS_PER_BUFFER, windows)?;
            ring.clear();
            on_buffer(w + 1, last_loss);
        }
    }
    Ok((head, Report { windows: activities.len(), steps: opt.steps(), last_loss }))
}
