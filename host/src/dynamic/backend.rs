//! The backend seam: where a minibatch's matrix-shaped work (dense, convolutions) runs.
//!
//! [`Cpu`] calls the core's kernels sample by sample, so its results are the core's bits.
//! A faster CPU path (blocked, vectorised across outputs and samples) or a GPU path
//! implements the same trait; the CPU path stays the reference (DESIGN.md: fast paths keep
//! the bits and are tested with `==`; only the GPU may differ within a stated tolerance).
//!
//! Shapes: `x` is `batch` rows of one input sample, `y` `batch` rows of one output sample;
//! gradients are **added** in sample order; `dx` is overwritten.

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

/// Splits `v` into `n` equal rows (an empty slice gives empty rows).
fn rows(v: &[f32], n: usize) -> impl Iterator<Item = &[f32]> {
    let len = v.len().checked_div(n).unwrap_or(0);
    (0..n).map(move |i| &v[i * len..(i + 1) * len])
}

fn rows_mut(v: &mut [f32], n: usize) -> impl Iterator<Item = &mut [f32]> {
    let len = v.len().checked_div(n).unwrap_or(0);
    v.chunks_mut(len.max(1)).take(if len == 0 { 0 } else { n })
}

impl Backend for Cpu {
    fn dense_forward(&self, w: &[f32], b: &[f32], x: &[f32], y: &mut [f32], rows_n: usize) {
        for (xr, yr) in rows(x, rows_n).zip(rows_mut(y, rows_n)) {
            dense::forward(w, b, xr, yr);
        }
    }

    fn dense_backward(
        &self,
        w: &[f32],
        x: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        gw: &mut [f32],
        gb: &mut [f32],
        rows_n: usize,
    ) {
        match dx {
            Some(dx) => {
                for ((xr, dyr), dxr) in
                    rows(x, rows_n).zip(rows(dy, rows_n)).zip(rows_mut(dx, rows_n))
                {
                    dense::backward(w, xr, dyr, dxr, gw, gb);
                }
            }
            None => {
                for (xr, dyr) in rows(x, rows_n).zip(rows(dy, rows_n)) {
                    dense::backward_params(xr, dyr, gw, gb);
                }
            }
        }
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
        for (xr, yr) in rows(x, batch).zip(rows_mut(y, batch)) {
            conv::conv2d_forward(g, w, b, xr, yr);
        }
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
        per_sample_backward((g.input_len(), g.output_len()), x, dy, dx, batch, |x, dy, dx| {
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
        for (xr, yr) in rows(x, batch).zip(rows_mut(y, batch)) {
            conv::conv_transpose2d_forward(g, w, b, xr, yr);
        }
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
        per_sample_backward((g.input_len(), g.output_len()), x, dy, dx, batch, |x, dy, dx| {
            conv::conv_transpose2d_backward(g, w, x, dy, dx, gw, gb.as_deref_mut());
        });
    }
}

/// Calls `f(x_n, dy_n, dx_n)` for each sample of a batch (`dx` optional): the per-sample
/// loop of every backward here.
fn per_sample_backward(
    (il, ol): (usize, usize),
    x: &[f32],
    dy: &[f32],
    mut dx: Option<&mut [f32]>,
    batch: usize,
    mut f: impl FnMut(&[f32], &[f32], Option<&mut [f32]>),
) {
    for n in 0..batch {
        let dxr = dx.as_deref_mut().map(|d| &mut d[n * il..(n + 1) * il]);
        f(&x[n * il..(n + 1) * il], &dy[n * ol..(n + 1) * ol], dxr);
    }
}

/// The default backend.
pub static CPU: Cpu = Cpu;
