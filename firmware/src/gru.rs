//! The digits GRU on the device (`src/gru_model.rs`, exported by the host: `gru(32),dense(10)`
//! on 8x8 samples read row by row): streaming inference, one time step (one row of 8 pixels)
//! at a time with the hidden state carried between calls, as a sensor delivers a stream.

use crate::gru_model::{INPUT_MEAN, INPUT_STD, MODEL};
use neurite::layer::Infer;

/// Hidden units.
pub const HIDDEN: usize = 32;
/// Time steps per sample (rows of a digit).
pub const STEPS: usize = 8;
/// Features per time step (pixels of a row).
pub const FEATURES: usize = 8;

/// The standardised time step `t` of a raw 64-pixel row (`(x - mean) / std` per pixel, as
/// the host trained).
pub fn step_input(raw: &[f32; 64], t: usize) -> [f32; FEATURES] {
    core::array::from_fn(|i| {
        let k = t * FEATURES + i;
        (raw[k] - INPUT_MEAN[k]) / INPUT_STD[k]
    })
}

/// The streaming state: the hidden state after the steps seen so far.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stream {
    /// The GRU's hidden state.
    pub h: [f32; HIDDEN],
}

impl Default for Stream {
    fn default() -> Self {
        Self::new()
    }
}

impl Stream {
    /// Before the first step: the zero state.
    pub const fn new() -> Self {
        Self { h: [0.0; HIDDEN] }
    }

    /// One time step.
    pub fn push(&mut self, x: &[f32; FEATURES]) {
        MODEL.0 .0.step(x, &mut self.h);
    }

    /// Class scores from the state (the head on the last hidden state).
    pub fn scores(&self) -> [f32; 10] {
        let mut y = [0.0; 10];
        MODEL.1.forward(&self.h, &mut y);
        y
    }
}

/// Class scores of a raw 64-pixel sample, streamed row by row.
pub fn infer_streaming(raw: &[f32; 64]) -> [f32; 10] {
    let mut s = Stream::new();
    for t in 0..STEPS {
        s.push(&step_input(raw, t));
    }
    s.scores()
}

/// Class scores of a raw sample by the whole-sequence forward of the exported model.
pub fn infer_whole(raw: &[f32; 64]) -> [f32; 10] {
    let x: [[f32; FEATURES]; STEPS] = core::array::from_fn(|t| step_input(raw, t));
    let mut y = [0.0; 10];
    MODEL.forward(&x, &mut y);
    y
}
