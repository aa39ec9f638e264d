//! The perceptron (Rosenblatt): a dense layer followed by the Heaviside step, trained by the
//! perceptron learning rule rather than by gradients (the step has none).
//!
//! Rule, per sample: `y = step(W x + b)`, then `W += lr (t - y) x^T`, `b += lr (t - y)`.
//! It converges on linearly separable data and never on XOR.

use crate::activation::{Activation, Step};
use crate::error::{check_finite, Error};
use crate::layer::{Dense, Infer};

/// `OUT` step neurons over `IN` inputs (a multi-output perceptron; one-hot targets for
/// classes).
#[derive(Clone, Debug, PartialEq)]
pub struct Perceptron<const IN: usize, const OUT: usize> {
    /// Weights and biases.
    pub layer: Dense<IN, OUT>,
}

/// A single neuron with a step activation.
pub type Neuron<const IN: usize> = Perceptron<IN, 1>;

impl<const IN: usize, const OUT: usize> Default for Perceptron<IN, OUT> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const IN: usize, const OUT: usize> Perceptron<IN, OUT> {
    /// All weights and biases zero.
    pub const fn new() -> Self {
        Self { layer: Dense::new([[0.0; IN]; OUT], [0.0; OUT]) }
    }

    /// `y = step(W x + b)`: each output is 0 or 1.
    pub fn predict(&self, x: &[f32; IN], y: &mut [f32; OUT]) {
        self.layer.forward(x, y);
        for v in y.iter_mut() {
            *v = Step.f(*v);
        }
    }

    /// One application of the learning rule; returns how many outputs were wrong.
    pub fn learn(&mut self, x: &[f32; IN], target: &[f32; OUT], lr: f32) -> usize {
        let mut y = [0.0; OUT];
        self.predict(x, &mut y);
        let mut wrong = 0;
        for ((row, b), (&yo, &to)) in
            self.layer.weight.iter_mut().zip(&mut self.layer.bias).zip(y.iter().zip(target))
        {
            let e = to - yo;
            if e != 0.0 {
                wrong += 1;
                for (w, &xi) in row.iter_mut().zip(x) {
                    *w += lr * e * xi;
                }
                *b += lr * e;
            }
        }
        wrong
    }

    /// Epochs of the learning rule over all samples in order until an epoch makes no mistake
    /// (returns `Ok(Some(epochs))`) or `max_epochs` pass (`Ok(None)`: not separable, or not
    /// yet). Checks inputs and that targets are 0 or 1 first.
    pub fn fit(
        &mut self,
        xs: &[[f32; IN]],
        targets: &[[f32; OUT]],
        lr: f32,
        max_epochs: usize,
    ) -> Result<Option<usize>, Error> {
        if xs.len() != targets.len() {
            return Err(Error::LengthMismatch { expected: xs.len(), found: targets.len() });
        }
        for (x, t) in xs.iter().zip(targets) {
            check_finite(x)?;
            if let Some(index) = t.iter().position(|&v| v != 0.0 && v != 1.0) {
                return Err(Error::NotAProbability { index });
            }
        }
        for epoch in 1..=max_epochs {
            let mut wrong = 0;
            for (x, t) in xs.iter().zip(targets) {
                wrong += self.learn(x, t, lr);
            }
            if wrong == 0 {
                return Ok(Some(epoch));
            }
        }
        Ok(None)
    }
}
