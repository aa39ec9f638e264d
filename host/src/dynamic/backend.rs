//! The backend seam: where a minibatch's matrix-shaped work (dense, convolutions) runs.
//!
//! [`Cpu`] calls the core's kernels sample by sample, so its results are the core's bits:
//! the reference. [`Blocked`] runs the dense layers' minibatch work through register-tiled
//! kernels vectorised across outputs and samples ([`super::blocked`], AVX when the CPU has
//! it), with the same bits (DESIGN.md: fast paths keep the bits and are tested with `==`);
//! its convolutions run vectorised across channels ([`super::blocked_conv`]), also with the
//! core's bits (transposed convolutions are [`Cpu`]'s). [`DEFAULT`] is the one training and inference use. A GPU
//! path would implement the same trait (and may differ within a stated tolerance).
//!
//! Shapes: `x` is `batch` rows of one input sample, `y` `batch` rows of one output sample;
//! gradients are **added** in sample order; `dx` is overwritten.

use super::op::{each_sample, each_sample_back};
use neurite::kernel::conv::{self, Conv2dGeom, ConvTranspose2dGeom};
use neurite::kernel::dense;

use super::blocked_conv;

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

/// The reference backend.
pub static CPU: Cpu = Cpu;

/// The blocked backend: dense layers through [`super::simd`]'s dispatch of the blocked
/// kernels: a dense forward of at least [`super::blocked::ROWS`] rows through the packed
/// tiles, of fewer through `forward_unpacked` (packing the weights would cost more than it
/// saves); a dense backward of at least `ROWS` rows through the tiles, of fewer as [`Cpu`];
/// convolutions through [`super::blocked_conv`]; buffers of other lengths than a whole
/// batch (which no layer passes), an empty input or output, and transposed convolutions
/// as [`Cpu`]. Bit-identical to [`Cpu`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Blocked;

thread_local! {
    /// The packed copy of the weights (or a transposed `dy`), reused between calls.
    static PACKED: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Backend for Blocked {
    fn dense_forward(&self, w: &[f32], b: &[f32], x: &[f32], y: &mut [f32], rows: usize) {
        let (outs, ins) = (b.len(), w.len().checked_div(b.len()).unwrap_or(0));
        // other lengths than a whole batch (which no layer passes) take the core's path
        if outs == 0
            || ins == 0
            || w.len() != outs * ins
            || x.len() != rows * ins
            || y.len() != rows * outs
        {
            return Cpu.dense_forward(w, b, x, y, rows);
        }
        if rows < super::blocked::ROWS {
            return super::simd::forward_unpacked(w, b, x, y, ins, rows);
        }
        PACKED.with_borrow_mut(|packed| {
            super::blocked::pack_forward(w, ins, b.len(), packed);
            let packed: &[f32] = packed;
            let ranges = super::threads::split(rows, ins * outs);
            super::threads::for_each_part(
                &ranges,
                (y, outs),
                (&mut [], 0),
                |(a, b_), y_part, _| {
                    super::simd::forward(packed, b, &x[a * ins..b_ * ins], y_part, ins, b_ - a);
                },
            );
        });
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
        let (outs, ins) = (gb.len(), x.len().checked_div(rows).unwrap_or(0));
        let exact = x.len() == rows * ins
            && dy.len() == rows * outs
            && w.len() == outs * ins
            && gw.len() == outs * ins
            && dx.as_deref().is_none_or(|d| d.len() == rows * ins);
        if rows < super::blocked::ROWS || ins == 0 || outs == 0 || !exact {
            return Cpu.dense_backward(w, x, dy, dx, gw, gb, rows);
        }
        // the weight gradient split by outputs (each output's sums whole), then the bias
        // entries of each part with it; the input gradient split by samples
        let ranges = super::threads::split(outs, rows * ins);
        super::threads::for_each_part(&ranges, (gw, ins), (gb, 1), |(a, _), gw_part, gb_part| {
            super::simd::backward_params_of(x, dy, outs, a, gw_part, gb_part, ins, rows);
        });
        if let Some(dx) = dx {
            let ranges = super::threads::split(rows, ins * outs);
            super::threads::for_each_part(
                &ranges,
                (dx, ins),
                (&mut [], 0),
                |(a, b_), dx_part, _| {
                    super::simd::backward_input(
                        w,
                        &dy[a * outs..b_ * outs],
                        dx_part,
                        ins,
                        outs,
                        b_ - a,
                    );
                },
            );
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
        if batch == 0 || !blocked_conv::fits(g, w, b.map(<[f32]>::len), x.len(), y.len(), batch) {
            return Cpu.conv2d_forward(g, w, b, x, y, batch);
        }
        let plan = blocked_conv::Plan::new(g);
        PACKED.with_borrow_mut(|packed| {
            super::simd::forward_conv(g, &plan, w, b, x, y, batch, packed);
        });
    }

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
    ) {
        let (dx_len, gb_len) = (dx.as_deref().map(<[f32]>::len), gb.as_deref().map(<[f32]>::len));
        if batch == 0
            || !blocked_conv::fits(g, w, gb_len, x.len(), dy.len(), batch)
            || gw.len() < g.weight_len()
            || dx_len.is_some_and(|n| n < batch * g.input_len())
        {
            return Cpu.conv2d_backward(g, w, x, dy, dx, gw, gb, batch);
        }
        let plan = blocked_conv::Plan::new(g);
        PACKED.with_borrow_mut(|scratch| {
            super::simd::backward_params_conv(g, &plan, x, dy, gw, gb, batch, scratch);
            if let Some(dx) = dx {
                super::simd::backward_input_conv(g, &plan, w, dy, dx, batch, scratch);
            }
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
        Cpu.conv_transpose2d_forward(g, w, b, x, y, batch);
    }

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
    ) {
        Cpu.conv_transpose2d_backward(g, w, x, dy, dx, gw, gb, batch);
    }
}

/// The backend training and inference use: [`Blocked`].
pub static DEFAULT: Blocked = Blocked;

#[cfg(test)]
mod tests {
    use super::*;
    use neurite::rng::Rng;

    /// With two threads (rows or outputs split between them) the blocked backend's dense
    /// forward and backward are the reference backend's bits, on shapes large enough to split
    /// and odd enough to leave partial tiles.
    #[test]
    fn two_threads_give_the_reference_bits() {
        super::super::threads::set_threads(2);
        let mut rng = Rng::new(4);
        for (ins, outs, rows) in [(300, 130, 17), (257, 66, 64), (64, 512, 9)] {
            let v =
                |n: usize, rng: &mut Rng| -> Vec<f32> { (0..n).map(|_| rng.normal()).collect() };
            let (w, b, x, dy) = (
                v(outs * ins, &mut rng),
                v(outs, &mut rng),
                v(rows * ins, &mut rng),
                v(rows * outs, &mut rng),
            );
            assert!(
                super::super::threads::split(rows, ins * outs).len() > 1
                    || super::super::threads::split(outs, rows * ins).len() > 1,
                "splits"
            );
            let (mut y1, mut y2) = (vec![0.0; rows * outs], vec![0.0; rows * outs]);
            Cpu.dense_forward(&w, &b, &x, &mut y1, rows);
            Blocked.dense_forward(&w, &b, &x, &mut y2, rows);
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&y1), bits(&y2), "forward {ins}x{outs}x{rows}");
            let start = v(outs * ins + outs, &mut rng);
            let (mut gw1, mut gb1, mut dx1) =
                (start[..outs * ins].to_vec(), start[outs * ins..].to_vec(), vec![0.0; rows * ins]);
            let (mut gw2, mut gb2, mut dx2) = (gw1.clone(), gb1.clone(), vec![0.0; rows * ins]);
            Cpu.dense_backward(&w, &x, &dy, Some(&mut dx1), &mut gw1, &mut gb1, rows);
            Blocked.dense_backward(&w, &x, &dy, Some(&mut dx2), &mut gw2, &mut gb2, rows);
            assert_eq!(bits(&gw1), bits(&gw2), "gw {ins}x{outs}x{rows}");
            assert_eq!(bits(&gb1), bits(&gb2), "gb {ins}x{outs}x{rows}");
            assert_eq!(bits(&dx1), bits(&dx2), "dx {ins}x{outs}x{rows}");
        }
        super::super::threads::set_threads(1);
    }
}
