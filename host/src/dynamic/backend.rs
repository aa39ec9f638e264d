//! The backend seam: where a minibatch's matrix-shaped work (dense, convolutions) runs.
//!
//! [`Cpu`] calls the core's kernels sample by sample, so its results are the core's bits;
//! it is the only implementation today. A faster CPU path (blocked, vectorised across
//! outputs and samples) or a GPU path, both planned and not implemented yet, would implement
//! the same trait; the CPU path stays the reference (DESIGN.md: fast paths keep the bits and
//! are tested with `==`; only the GPU may differ within a stated tolerance).
//!
//! Shapes: `x` is `batch` rows of one input sample, `y` `batch` rows of one output sample;
//! gradients are **added** in sample order; `dx` is overwritten.

use super::op::{each_sample, each_sample_back};
use neurite::kernel::conv::{self, Conv2dGeom, ConvTranspose2dGeom};
use neurite::kernel::dense;

/// Batched matrix-shaped kernels.
pub trait Backend: Sync {
    /// Dense forward over `rows` rows: `y[r] = W x[r] + b` (`w` is `out x in`).
    fn dense_forward(&self, w: &[f32], b: &[f32], x: &[f32], y: &mut [f32], rows: usize);
    /// Dense backward over `rows` rows: `gw += dy[r] x[r]^T`, `gb += dy[r]` in row order;
    /// `dx[r] = W^T dy[r]` when given.
    #[allow(clippy::too_many_arguments)]
    fn dense_backward(
        &self,
        w: &[f32],
        x: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        gw: &mut [f32],
        gb: &mut [f32],
        rows: usize,
    );
    /// Convolution forward over a batch.
    fn conv2d_forward(
        &self,
        g: &Conv2dGeom,
        w: &[f32],
        b: Option<&[f32]>,
        x: &[f32],
        y: &mut [f32],
        batch: usize,
    );
    /// Convolution backward over a batch.
    #[allow(clippy::too_many_arguments)]
    fn conv2d_backward(
        &self,
        g: &Conv2dGeom,
        w: &[f32],
        x: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        gw: &mut [f32],
        gb: Option<&mut [f32]>,
        batch: usize,
    );
    /// Transposed convolution forward over a batch.
    fn conv_transpose2d_forward(
        &self,
        g: &ConvTranspose2dGeom,
        w: &[f32],
        b: Option<&[f32]>,
        x: &[f32],
        y: &mut [f32],
        batch: usize,
    );
    /// Transposed convolution backward over a batch.
    #[allow(clippy::too_many_arguments)]
    fn conv_transpose2d_backward(
        &self,
        g: &ConvTranspose2dGeom,
        w: &[f32],
        x: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        gw: &mut [f32],
        gb: Option<&mut [f32]>,
        batch: usize,
    );
}

/// The reference backend: the core's per-sample kernels, sample after sample.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cpu;

impl Backend for Cpu {
    fn dense_forward(&self, w: &[f32], b: &[f32], x: &[f32], y: &mut [f32], rows: usize) {
        each_sample(x, y, rows, |x, y| dense::forward(w, b, x, y));
    }

    fn dense_backward(
        &self,
        w: &[f32],
        x: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        gw: &mut [f32],
        gb: &mut [f32],
        rows: usize,
    ) {
        each_sample_back(x, dy, dx, rows, |x, dy, dx| match dx {
            Some(dx) => dense::backward(w, x, dy, dx, gw, gb),
            None => dense::backward_params(x, dy, gw, gb),
        });
    }

    fn conv2d_forward(
        &self,
        g: &Conv2dGeom,
        w: &[f32],
        b: Option<&[f32]>,
        x: &[f32],
        y: &mut [f32],
        batch: usize,
    ) {
        each_sample(x, y, batch, |x, y| conv::conv2d_forward(g, w, b, x, y));
    }

    fn conv2d_backward(
        &self,
        g: &Conv2dGeom,
        w: &[f32],
        x: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        gw: &mut [f32],
        mut gb: Option<&mut [f32]>,
        batch: usize,
    ) {
        each_sample_back(x, dy, dx, batch, |x, dy, dx| {
            conv::conv2d_backward(g, w, x, dy, dx, gw, gb.as_deref_mut());
        });
    }

    fn conv_transpose2d_forward(
        &self,
        g: &ConvTranspose2dGeom,
        w: &[f32],
        b: Option<&[f32]>,
        x: &[f32],
        y: &mut [f32],
        batch: usize,
    ) {
        each_sample(x, y, batch, |x, y| conv::conv_transpose2d_forward(g, w, b, x, y));
    }

    fn conv_transpose2d_backward(
        &self,
        g: &ConvTranspose2dGeom,
        w: &[f32],
        x: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        gw: &mut [f32],
        mut gb: Option<&mut [f32]>,
        batch: usize,
    ) {
        each_sample_back(x, dy, dx, batch, |x, dy, dx| {
            conv::conv_transpose2d_backward(g, w, x, dy, dx, gw, gb.as_deref_mut());
        });
    }
}

/// The default backend.
pub static CPU: Cpu = Cpu;
