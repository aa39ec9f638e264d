//! Convolution kernels for one sample: conv1d / conv2d (PyTorch's `nn.Conv1d` / `nn.Conv2d`,
//! zero padding) and conv_transpose2d (`nn.ConvTranspose2d`), forward and backward.
//!
//! # Layouts
//!
//! Every buffer is flat and row-major. Activations are `[C][H][W]` for one sample. Conv
//! weights are `[out][in / groups][kh][kw]` (`nn.Conv2d.weight`), transposed-conv weights are
//! `[in][out][kh][kw]` (`nn.ConvTranspose2d.weight`), biases are `[out]`. A 1-D convolution is
//! the 2-D one with `in_h = 1` and a `1 x k` kernel ([`Conv2dGeom::conv1d`]), so `[C][L]`
//! buffers and `[out][in / groups][k]` weights are used unchanged.
//!
//! # Summation order
//!
//! Every output element and every gradient element is one sum with one accumulator that
//! starts at `0.0` and adds products (`a * b`, never `mul_add`) in the fixed index order that
//! each function documents; a bias is added after the sum, and a parameter gradient adds its
//! finished sum to the caller's running value with one `+=`. No loop is reordered, split or
//! vectorised across the sum, so the same inputs give bit-identical results on every target.
//!
//! Taps that fall into the zero padding are skipped, not multiplied by zero. Adding `+-0.0`
//! never changes a sum that starts at `+0.0`, so this equals PyTorch's definition bit for bit,
//! except that an infinite or NaN value facing the padding does not turn the result into NaN.
//!
//! # Cost
//!
//! `macs()` counts the in-bounds taps, which is exactly the number of multiplies a forward
//! performs. A backward performs `macs()` multiplies for the weight gradient and, when `dx`
//! is requested, `macs()` more for the input gradient.
//!
//! # Mismatched buffers
//!
//! The kernels never panic. If the geometry is invalid (`is_valid()` is false) or any buffer
//! is shorter than the geometry requires, the call returns without writing anything. Longer
//! buffers are fine: their tails are ignored and left untouched.

use super::dense::{block_accumulate, PACK};
use super::reduce::sum;

/// Geometry of a 2-D convolution over one sample, PyTorch's `nn.Conv2d` semantics (zero
/// padding).
///
/// conv1d is the case `in_h = 1`, `kernel[0] = 1`, `stride[0] = 1`, `padding[0] = 0`,
/// `dilation[0] = 1` (see [`Conv2dGeom::conv1d`]). Pairs are `[height, width]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Conv2dGeom {
    /// Input channels `C_in`.
    pub in_channels: usize,
    /// Output channels `C_out`.
    pub out_channels: usize,
    /// Input height (1 for conv1d).
    pub in_h: usize,
    /// Input width (the sequence length for conv1d).
    pub in_w: usize,
    /// Kernel size `[kh, kw]`.
    pub kernel: [usize; 2],
    /// Stride `[sh, sw]`.
    pub stride: [usize; 2],
    /// Zero padding added on both sides, `[ph, pw]`.
    pub padding: [usize; 2],
    /// Spacing between kernel taps, `[dh, dw]` (1 = dense kernel).
    pub dilation: [usize; 2],
    /// Channel groups: input channel block `g` feeds output channel block `g` only.
    pub groups: usize,
}

impl Conv2dGeom {
    /// The 1-D convolution `nn.Conv1d(in_channels, out_channels, kernel, stride, padding,
    /// dilation, groups)` over a sequence of `in_len` samples, as a 2-D geometry of height 1.
    #[allow(clippy::too_many_arguments)]
    pub const fn conv1d(
        in_channels: usize,
        out_channels: usize,
        in_len: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        dilation: usize,
        groups: usize,
    ) -> Self {
        Self {
            in_channels,
            out_channels,
            in_h: 1,
            in_w: in_len,
            kernel: [1, kernel],
            stride: [1, stride],
            padding: [0, padding],
            dilation: [1, dilation],
            groups,
        }
    }

    /// Output height `(in_h + 2 ph - dh (kh - 1) - 1) / sh + 1`; 0 when that is not a positive
    /// size (kernel larger than the padded input, a zero size, stride or dilation, or an
    /// intermediate that overflows `usize`).
    pub const fn out_h(&self) -> usize {
        conv_out_len(self.in_h, self.kernel[0], self.stride[0], self.padding[0], self.dilation[0])
    }

    /// Output width `(in_w + 2 pw - dw (kw - 1) - 1) / sw + 1`; 0 when invalid, as
    /// [`Conv2dGeom::out_h`].
    pub const fn out_w(&self) -> usize {
        conv_out_len(self.in_w, self.kernel[1], self.stride[1], self.padding[1], self.dilation[1])
    }

    /// Whether the kernels accept this geometry: both channel counts and `groups` positive,
    /// `groups` dividing both channel counts, positive input size, kernel, stride and
    /// dilation, an output of at least `1 x 1`, and buffer lengths that fit in `usize`.
    pub const fn is_valid(&self) -> bool {
        self.in_channels > 0
            && self.out_channels > 0
            && self.groups > 0
            && self.in_channels.is_multiple_of(self.groups)
            && self.out_channels.is_multiple_of(self.groups)
            && self.kernel[0] > 0
            && self.kernel[1] > 0
            && self.stride[0] > 0
            && self.stride[1] > 0
            && self.dilation[0] > 0
            && self.dilation[1] > 0
            && self.out_h() > 0
            && self.out_w() > 0
            && self.weight_len() > 0
            && self.input_len() > 0
            && self.output_len() > 0
    }

    /// `out_channels * (in_channels / groups) * kh * kw`, layout `[out][in / groups][kh][kw]`
    /// (0 when `groups` is 0 or the product overflows).
    pub const fn weight_len(&self) -> usize {
        if self.groups == 0 {
            return 0;
        }
        product([self.out_channels, self.in_channels / self.groups, self.kernel[0], self.kernel[1]])
    }

    /// `in_channels * in_h * in_w` (0 on overflow).
    pub const fn input_len(&self) -> usize {
        product([self.in_channels, self.in_h, self.in_w, 1])
    }

    /// `out_channels * out_h * out_w` (0 when invalid or on overflow).
    pub const fn output_len(&self) -> usize {
        product([self.out_channels, self.out_h(), self.out_w(), 1])
    }

    /// Multiply-accumulates of one forward, counting only the in-bounds taps (taps facing the
    /// padding are skipped, see the module docs): `out_channels * (in_channels / groups) *
    /// (sum over oh of the in-bounds kh) * (sum over ow of the in-bounds kw)`. Without padding
    /// this is `output_len * (in_channels / groups) * kh * kw`. 0 when invalid; saturates at
    /// `usize::MAX`.
    pub const fn macs(&self) -> usize {
        if !self.is_valid() {
            return 0;
        }
        let rows = in_bounds_taps(
            self.in_h,
            self.out_h(),
            self.kernel[0],
            self.stride[0],
            self.padding[0],
            self.dilation[0],
        );
        let cols = in_bounds_taps(
            self.in_w,
            self.out_w(),
            self.kernel[1],
            self.stride[1],
            self.padding[1],
            self.dilation[1],
        );
        self.out_channels
            .saturating_mul(self.in_channels / self.groups)
            .saturating_mul(rows)
            .saturating_mul(cols)
    }

    /// Whether the geometry is valid and every buffer is long enough.
    fn fits(&self, w: &[f32], bias_len: Option<usize>, x_len: usize, y_len: usize) -> bool {
        self.is_valid()
            && w.len() >= self.weight_len()
            && x_len >= self.input_len()
            && y_len >= self.output_len()
            && match bias_len {
                Some(n) => n >= self.out_channels,
                None => true,
            }
    }
}

/// Geometry of `nn.ConvTranspose2d` over one sample (groups 1, dilation 1).
///
/// Pairs are `[height, width]`. The weight layout is `[in][out][kh][kw]`, PyTorch's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ConvTranspose2dGeom {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Kernel size `[kh, kw]`.
    pub kernel: [usize; 2],
    /// Stride `[sh, sw]` (the upsampling factor).
    pub stride: [usize; 2],
    /// Padding `[ph, pw]`: `dilation * (kernel - 1) - padding` zeros are implicitly added to
    /// both sides of the input, i.e. `padding` rows/columns are cropped from each side of the
    /// full output.
    pub padding: [usize; 2],
    /// Extra size `[oph, opw]` added to one side (bottom / right) of the output; must be
    /// smaller than the stride.
    pub output_padding: [usize; 2],
}

impl ConvTranspose2dGeom {
    /// Output height `(in_h - 1) sh - 2 ph + (kh - 1) + oph + 1`; 0 when that is not a
    /// positive size, when `in_h`, `kh` or `sh` is 0, when `oph >= sh`, or on overflow.
    pub const fn out_h(&self) -> usize {
        transposed_out_len(
            self.in_h,
            self.kernel[0],
            self.stride[0],
            self.padding[0],
            self.output_padding[0],
        )
    }

    /// Output width `(in_w - 1) sw - 2 pw + (kw - 1) + opw + 1`; 0 when invalid, as
    /// [`ConvTranspose2dGeom::out_h`].
    pub const fn out_w(&self) -> usize {
        transposed_out_len(
            self.in_w,
            self.kernel[1],
            self.stride[1],
            self.padding[1],
            self.output_padding[1],
        )
    }

    /// Whether the kernels accept this geometry: positive channel counts, input size, kernel
    /// and stride, `output_padding < stride` (as PyTorch requires), an output of at least
    /// `1 x 1`, and buffer lengths that fit in `usize`.
    pub const fn is_valid(&self) -> bool {
        self.adjoint().is_some()
    }

    /// `in_channels * out_channels * kh * kw`, layout `[in][out][kh][kw]` (0 on overflow).
    pub const fn weight_len(&self) -> usize {
        product([self.in_channels, self.out_channels, self.kernel[0], self.kernel[1]])
    }

    /// `in_channels * in_h * in_w` (0 on overflow).
    pub const fn input_len(&self) -> usize {
        product([self.in_channels, self.in_h, self.in_w, 1])
    }

    /// `out_channels * out_h * out_w` (0 when invalid or on overflow).
    pub const fn output_len(&self) -> usize {
        product([self.out_channels, self.out_h(), self.out_w(), 1])
    }

    /// Multiply-accumulates of one forward, counting only the taps that land inside the
    /// output (the ones cropped by `padding` are skipped). Equal to the `macs()` of the
    /// convolution this one is the adjoint of. 0 when invalid; saturates at `usize::MAX`.
    pub const fn macs(&self) -> usize {
        match self.adjoint() {
            Some(conv) => conv.macs(),
            None => 0,
        }
    }

    /// The convolution whose input gradient this transposed convolution is: input
    /// `out_channels x out_h x out_w`, output `in_channels x in_h x in_w`, same kernel, stride
    /// and padding. Its weight layout `[out = our in][in = our out][kh][kw]` is ours. `None`
    /// when this geometry is invalid.
    const fn adjoint(&self) -> Option<Conv2dGeom> {
        let conv = Conv2dGeom {
            in_channels: self.out_channels,
            out_channels: self.in_channels,
            in_h: self.out_h(),
            in_w: self.out_w(),
            kernel: self.kernel,
            stride: self.stride,
            padding: self.padding,
            dilation: [1, 1],
            groups: 1,
        };
        // out_h() > 0 implies 0 <= output_padding < stride, so the convolution maps the
        // output grid back onto exactly in_h x in_w; checked anyway.
        if conv.is_valid()
            && conv.out_h() == self.in_h
            && conv.out_w() == self.in_w
            && self.input_len() > 0
        {
            Some(conv)
        } else {
            None
        }
    }
}

/// `y[o][oh][ow] = (sum over ci in o's group, then kh, then kw, of
/// w[o][ci][kh][kw] * x[g * cin_g + ci][oh * sh - ph + kh * dh][ow * sw - pw + kw * dw]) + b[o]`.
///
/// `g = o / (out_channels / groups)` is `o`'s group and `cin_g = in_channels / groups`. The sum
/// starts at `0.0` and adds the products in exactly that index order (`ci`, `kh`, `kw` each
/// ascending) with one accumulator, skipping taps that fall into the zero padding; the bias
/// is added last (`b = None`: no bias, `y` is the sum).
///
/// Shapes: `w` is [`Conv2dGeom::weight_len`] (`[out][in / groups][kh][kw]`), `b` has
/// `out_channels` values, `x` is [`Conv2dGeom::input_len`] and `y`
/// [`Conv2dGeom::output_len`]. Invalid geometry or short buffers: nothing is written.
pub fn conv2d_forward(g: &Conv2dGeom, w: &[f32], b: Option<&[f32]>, x: &[f32], y: &mut [f32]) {
    if !g.fits(w, b.map(<[f32]>::len), x.len(), y.len()) {
        return;
    }
    forward_checked(g, w, b, x, y);
}

/// [`conv2d_forward`] with the weights laid out for the loop (groups 1, dilation 1): blocks of
/// [`PACK`] output channels, each tap's `PACK` weights side by side,
/// `wp[block][ci][kh][kw][j] = w[block * PACK + j][ci][kh][kw]` (zero past the last output
/// channel; [`crate::layer::PackedConv2d`] holds them so). Each output is still the sum of
/// [`conv2d_forward`], from 0 over `ci`, `kh`, `kw` ascending (in-bounds taps), then the bias:
/// the same bits. A run of taps along a kernel row feeds [`block_accumulate`] (on a Cortex-M4F
/// with `cortex-m-asm`: one `vldmia` per tap's eight weights and eight `vmla.f32`).
///
/// Shapes: `wp` has `ceil(out_channels / PACK) * in_channels * kh * kw * PACK` values, `b`
/// `out_channels`, `x` [`Conv2dGeom::input_len`], `y` [`Conv2dGeom::output_len`]. Groups or
/// dilation other than 1, an invalid geometry or a short buffer: nothing is written.
pub fn conv2d_forward_packed(g: &Conv2dGeom, wp: &[f32], b: &[f32], x: &[f32], y: &mut [f32]) {
    let [kh_n, kw_n] = g.kernel;
    let tap_block = kh_n * kw_n * PACK;
    let block_len = g.in_channels * tap_block;
    let blocks = g.out_channels.div_ceil(PACK);
    if !g.is_valid()
        || g.groups != 1
        || g.dilation != [1, 1]
        || wp.len() < blocks * block_len
        || b.len() < g.out_channels
        || x.len() < g.input_len()
        || y.len() < g.output_len()
    {
        return;
    }
    let (in_h, in_w, out_h, out_w) = (g.in_h, g.in_w, g.out_h(), g.out_w());
    let ([sh, sw], [ph, pw]) = (g.stride, g.padding);
    let (plane_in, plane_out) = (in_h * in_w, out_h * out_w);
    let x = &x[..g.input_len()];
    for oh in 0..out_h {
        let (kh_lo, kh_hi) = span(oh * sh, 1, ph, in_h, kh_n);
        for ow in 0..out_w {
            let (kw_lo, kw_hi) = span(ow * sw, 1, pw, in_w, kw_n);
            let run = kw_hi - kw_lo;
            // the same walk for every block of output channels (its weights `block_len` on)
            let walk = (run > 0 && kh_lo < kh_hi).then(|| TapWalk {
                x_at: (oh * sh + kh_lo - ph) * in_w + ow * sw + kw_lo - pw,
                w_at: (kh_lo * kw_n + kw_lo) * PACK,
                run,
                rows: kh_hi - kh_lo,
                channels: g.in_channels,
                x_row: in_w,
                x_channel: plane_in,
                w_row: kw_n * PACK,
                w_channel: tap_block,
            });
            let mut plan = walk.as_ref().and_then(|w| w.plan(block_len, x.len()));
            for (blk, wb) in wp.chunks_exact(block_len).take(blocks).enumerate() {
                let mut acc = [0.0f32; PACK];
                if let Some(walk) = &walk {
                    walk.accumulate(&mut acc, wb, x, plan.as_mut());
                }
                // the block's outputs at this position, `plane_out` apart
                let first = blk * PACK;
                let n = PACK.min(g.out_channels - first);
                let ys = y[first * plane_out + oh * out_w + ow..].iter_mut().step_by(plane_out);
                for ((out, &a), &bias) in ys.zip(&acc[..n]).zip(&b[first..first + n]) {
                    *out = a + bias;
                }
            }
        }
    }
}

/// The in-bounds taps of one output position of [`conv2d_forward_packed`], for one block of
/// output channels: `channels` input channels of `rows` kernel rows of `run` taps, from
/// `x[x_at]` and `w[w_at]` (its block's weights), rows `x_row` / `w_row` apart and channels
/// `x_channel` / `w_channel` apart (in values).
/// See [`TapWalk::plan`].
pub(crate) type Plan = [usize; 7];

pub(crate) struct TapWalk {
    pub(crate) x_at: usize,
    pub(crate) w_at: usize,
    pub(crate) run: usize,
    pub(crate) rows: usize,
    pub(crate) channels: usize,
    pub(crate) x_row: usize,
    pub(crate) x_channel: usize,
    pub(crate) w_row: usize,
    pub(crate) w_channel: usize,
}

impl TapWalk {
    /// `acc[j] += w[tap][j] * x[tap]` over the taps, channel by channel, row by row, tap by
    /// tap (ascending): each output's sum in [`conv2d_forward`]'s order. With `cortex-m-asm`
    /// on a hard-float Cortex-M, the whole walk in one loop nest with the sums in registers
    /// (when the walk fits `x` and `w`, as it does for a valid geometry).
    ///
    /// `plan` is [`TapWalk::plan`] for `w`'s and `x`'s lengths (`None`: the portable loop).
    fn accumulate(&self, acc: &mut [f32; PACK], w: &[f32], x: &[f32], plan: Option<&mut Plan>) {
        #[cfg(all(feature = "cortex-m-asm", target_arch = "arm", target_abi = "eabihf"))]
        if let Some(plan) = plan {
            crate::cortex_m_asm::conv_block_taps(acc, w, x, self, plan);
            return;
        }
        #[cfg(not(all(feature = "cortex-m-asm", target_arch = "arm", target_abi = "eabihf")))]
        let _ = plan;
        for c in 0..self.channels {
            for r in 0..self.rows {
                let xs = x.get(self.x_at + c * self.x_channel + r * self.x_row..);
                let ws = w.get(self.w_at + c * self.w_channel + r * self.w_row..);
                if let (Some(xs), Some(ws)) = (xs, ws) {
                    let run = self.run.min(xs.len());
                    block_accumulate(acc, ws, &xs[..run]);
                }
            }
        }
    }

    /// What the assembly walk reads from memory: the tap and row counts, the byte skips from
    /// a row's end to the next row and from a channel's end to the next channel (inputs, then
    /// weights), and a slot for the sums' address; `None` unless the walk [fits](Self::fits)
    /// `w_len` weights and `x_len` inputs (only with `cortex-m-asm` on a hard-float Cortex-M).
    fn plan(&self, w_len: usize, x_len: usize) -> Option<Plan> {
        #[cfg(all(feature = "cortex-m-asm", target_arch = "arm", target_abi = "eabihf"))]
        if self.fits(w_len, x_len) {
            return Some([
                self.run,
                self.rows,
                4 * (self.x_row - self.run),
                4 * (self.x_channel - self.rows * self.x_row),
                4 * (self.w_row - self.run * PACK),
                4 * (self.w_channel - self.rows * self.w_row),
                0,
            ]);
        }
        let _ = (w_len, x_len);
        None
    }

    /// Whether every tap lies inside `w_len` weights and `x_len` inputs, and the walk is not
    /// empty.
    #[cfg_attr(
        not(all(feature = "cortex-m-asm", target_arch = "arm", target_abi = "eabihf")),
        allow(dead_code)
    )]
    fn fits(&self, w_len: usize, x_len: usize) -> bool {
        // saturating: an overflow makes an index of `usize::MAX`, which fits nothing
        let last = |at: usize, row: usize, channel: usize, tap: usize| {
            at.saturating_add((self.channels - 1).saturating_mul(channel))
                .saturating_add((self.rows - 1).saturating_mul(row))
                .saturating_add((self.run - 1).saturating_mul(tap))
        };
        self.run > 0
            && self.rows > 0
            && self.channels > 0
            && self.run <= self.x_row
            && self.run.saturating_mul(PACK) <= self.w_row
            && self.rows.saturating_mul(self.x_row) <= self.x_channel
            && self.rows.saturating_mul(self.w_row) <= self.w_channel
            && last(self.x_at, self.x_row, self.x_channel, 1) < x_len
            && last(self.w_at, self.w_row, self.w_channel, PACK).saturating_add(PACK - 1) < w_len
    }
}

/// Backward of [`conv2d_forward`] for one sample.
///
/// - `gw[o][ci][kh][kw] += S`, where `S` starts at `0.0` and adds
///   `dy[o][oh][ow] * x[g * cin_g + ci][oh * sh - ph + kh * dh][ow * sw - pw + kw * dw]` over `oh`
///   ascending, then `ow` ascending (in-bounds taps only), with one accumulator. Across calls
///   the gradient accumulates in the caller's sample order.
/// - `gb[o] += S` (when `Some`), where `S` is the sum of `dy[o][..][..]` in row-major order
///   ([`sum`]).
/// - When `dx` is `Some`, it is OVERWRITTEN: `dx[c][ih][iw]` is one sum starting at `0.0` of
///   `w[o][c % cin_g][kh][kw] * dy[o][oh][ow]` over `o` ascending in `c`'s group, then `kh`
///   ascending, then `kw` ascending, over the taps with `ih + ph = oh * sh + kh * dh` and
///   `iw + pw = ow * sw + kw * dw` for some in-range `oh`, `ow`.
///
/// Shapes as in [`conv2d_forward`]; `dy` is [`Conv2dGeom::output_len`], `dx`
/// [`Conv2dGeom::input_len`], `gw` [`Conv2dGeom::weight_len`], `gb` `out_channels`. Invalid
/// geometry or a short buffer: nothing is written.
pub fn conv2d_backward(
    g: &Conv2dGeom,
    w: &[f32],
    x: &[f32],
    dy: &[f32],
    dx: Option<&mut [f32]>,
    gw: &mut [f32],
    gb: Option<&mut [f32]>,
) {
    let dx_len = dx.as_deref().map_or(usize::MAX, <[f32]>::len);
    if !g.fits(w, gb.as_deref().map(<[f32]>::len), x.len(), dy.len())
        || gw.len() < g.weight_len()
        || dx_len < g.input_len()
    {
        return;
    }
    weight_grad_checked(g, dy, x, gw);
    if let Some(gb) = gb {
        bias_grad(g.out_channels, g.out_h() * g.out_w(), dy, gb);
    }
    if let Some(dx) = dx {
        input_grad_checked(g, w, None, dy, dx);
    }
}

/// `y[o][oh][ow] = (sum over ci, then kh, then kw, of w[ci][o][kh][kw] * x[ci][ih][iw]) + b[o]`,
/// over the taps where `oh + ph - kh = ih * sh` and `ow + pw - kw = iw * sw` with `ih`, `iw`
/// in range.
///
/// This is the gather form of `nn.ConvTranspose2d`: each output is one sum starting at `0.0`
/// that adds the products with one accumulator in exactly that index order (`ci`, `kh`, `kw`
/// each ascending); the bias is added last (`b = None`: no bias). The result is the input
/// gradient of the convolution with the same kernel, stride and padding.
///
/// Shapes: `w` is [`ConvTranspose2dGeom::weight_len`] (`[in][out][kh][kw]`), `b` has
/// `out_channels` values, `x` is [`ConvTranspose2dGeom::input_len`] and `y`
/// [`ConvTranspose2dGeom::output_len`]. Invalid geometry or short buffers: nothing is
/// written.
pub fn conv_transpose2d_forward(
    g: &ConvTranspose2dGeom,
    w: &[f32],
    b: Option<&[f32]>,
    x: &[f32],
    y: &mut [f32],
) {
    // The adjoint convolution reads y's shape as its input and x's as its output.
    let Some(conv) = g.adjoint() else {
        return;
    };
    if !conv.fits(w, None, y.len(), x.len()) || b.is_some_and(|b| b.len() < g.out_channels) {
        return;
    }
    input_grad_checked(&conv, w, b, x, y);
}

/// Backward of [`conv_transpose2d_forward`] for one sample.
///
/// - `gw[ci][o][kh][kw] += S`, where `S` starts at `0.0` and adds
///   `x[ci][ih][iw] * dy[o][ih * sh - ph + kh][iw * sw - pw + kw]` over `ih` ascending, then
///   `iw` ascending (taps landing inside the output only), with one accumulator. Across calls
///   the gradient accumulates in the caller's sample order.
/// - `gb[o] += S` (when `Some`), where `S` is the sum of `dy[o][..][..]` in row-major order
///   ([`sum`]).
/// - When `dx` is `Some`, it is OVERWRITTEN: `dx[ci][ih][iw]` is one sum starting at `0.0` of
///   `w[ci][o][kh][kw] * dy[o][ih * sh - ph + kh][iw * sw - pw + kw]` over `o` ascending, then
///   `kh` ascending, then `kw` ascending (in-bounds taps only): a plain convolution of `dy`.
///
/// Shapes as in [`conv_transpose2d_forward`]; `dy` is [`ConvTranspose2dGeom::output_len`],
/// `dx` [`ConvTranspose2dGeom::input_len`], `gw` [`ConvTranspose2dGeom::weight_len`], `gb`
/// `out_channels`. Invalid geometry or a short buffer: nothing is written.
pub fn conv_transpose2d_backward(
    g: &ConvTranspose2dGeom,
    w: &[f32],
    x: &[f32],
    dy: &[f32],
    dx: Option<&mut [f32]>,
    gw: &mut [f32],
    gb: Option<&mut [f32]>,
) {
    let Some(conv) = g.adjoint() else {
        return;
    };
    let dx_len = dx.as_deref().map_or(usize::MAX, <[f32]>::len);
    if !conv.fits(w, None, dy.len(), x.len())
        || gw.len() < conv.weight_len()
        || dx_len < g.input_len()
        || gb.as_deref().is_some_and(|gb| gb.len() < g.out_channels)
    {
        return;
    }
    // In the adjoint convolution's terms our x is its output gradient and our dy its input.
    weight_grad_checked(&conv, x, dy, gw);
    if let Some(gb) = gb {
        bias_grad(g.out_channels, conv.in_h * conv.in_w, dy, gb);
    }
    if let Some(dx) = dx {
        forward_checked(&conv, w, None, dy, dx);
    }
}

// ---------------------------------------------------------------------------------------------
// Geometry arithmetic (const, checked: never overflows or divides by zero).

/// `(n + 2p - d (k - 1) - 1) / s + 1`, or 0 when not a positive size.
const fn conv_out_len(n: usize, k: usize, s: usize, p: usize, d: usize) -> usize {
    if n == 0 || k == 0 || s == 0 || d == 0 {
        return 0;
    }
    let Some(p2) = p.checked_mul(2) else {
        return 0;
    };
    let Some(padded) = n.checked_add(p2) else {
        return 0;
    };
    let Some(reach) = d.checked_mul(k - 1) else {
        return 0;
    };
    if padded <= reach {
        return 0;
    }
    (padded - reach - 1) / s + 1
}

/// `(n - 1) s - 2p + (k - 1) + op + 1`, or 0 when not a positive size or `op >= s`.
const fn transposed_out_len(n: usize, k: usize, s: usize, p: usize, op: usize) -> usize {
    if n == 0 || k == 0 || s == 0 || op >= s {
        return 0;
    }
    let Some(full) = (n - 1).checked_mul(s) else {
        return 0;
    };
    let Some(full) = full.checked_add(k) else {
        return 0;
    };
    let Some(full) = full.checked_add(op) else {
        return 0;
    };
    let Some(p2) = p.checked_mul(2) else {
        return 0;
    };
    if full <= p2 {
        return 0;
    }
    full - p2
}

/// Product of four sizes, 0 on overflow.
const fn product(f: [usize; 4]) -> usize {
    let mut acc: usize = 1;
    let mut i = 0;
    while i < f.len() {
        acc = match acc.checked_mul(f[i]) {
            Some(v) => v,
            None => return 0,
        };
        i += 1;
    }
    acc
}

/// The indices `j` in `0..limit` whose position `base + j * step - pad` lies in `0..len`, as
/// a half-open range `(lo, hi)`; `(0, 0)` when there are none. Requires `step > 0`.
///
/// Forward: `base = oh * s`, `step = d`, `limit = k` gives the in-bounds kernel taps of one
/// output row. Weight gradient: `base = kh * d`, `step = s`, `limit = out_h` gives the output
/// rows that one kernel tap reaches.
const fn span(base: usize, step: usize, pad: usize, len: usize, limit: usize) -> (usize, usize) {
    let lo = if base >= pad { 0 } else { (pad - base).div_ceil(step) };
    let end = len.saturating_add(pad);
    let hi = if base >= end { 0 } else { (end - base).div_ceil(step) };
    let hi = if hi < limit { hi } else { limit };
    if lo < hi {
        (lo, hi)
    } else {
        (0, 0)
    }
}

/// Sum over the `n_out` output positions of the number of in-bounds taps (for `macs`).
const fn in_bounds_taps(n: usize, n_out: usize, k: usize, s: usize, p: usize, d: usize) -> usize {
    let mut total: usize = 0;
    let mut o = 0;
    while o < n_out {
        let (lo, hi) = span(o * s, d, p, n, k);
        total = total.saturating_add(hi - lo);
        o += 1;
    }
    total
}

/// Greatest common divisor (`gcd(a, 0) = a`).
const fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        let r = a % b;
        a = b;
        b = r;
    }
    a
}

/// The taps of one input position in the gather (transposed) form along one axis: the kernel
/// indices `kk` ascending with `kk * d + o * s = t` (`t = input index + pad`) for an output
/// index `o` in `0..n_out`. They are `kk = k0 + j * k_step` paired with `o = o0 - j * o_step`
/// for `j` in `0..count`.
#[derive(Clone, Copy, Debug)]
struct Taps {
    k0: usize,
    k_step: usize,
    o0: usize,
    o_step: usize,
    count: usize,
}

impl Taps {
    const NONE: Self = Self { k0: 0, k_step: 1, o0: 0, o_step: 1, count: 0 };
}

/// Solve `kk * d + o * s = t` for `kk` in `0..k`, `o` in `0..n_out` (`s`, `d` > 0).
///
/// The solutions in `kk` are spaced `s / gcd(s, d)` apart (with `o` falling by `d / gcd`), so
/// only the first residue is searched (at most `s` steps, no per-tap division).
const fn gather_taps(t: usize, k: usize, s: usize, d: usize, n_out: usize) -> Taps {
    let g = gcd(s, d);
    let k_step = s / g;
    let o_step = d / g;
    // Smallest kk in 0..min(k_step, k) with kk * d = t (mod s); r tracks kk * d mod s.
    let want = t % s;
    let d_mod = d % s;
    let search = if k_step < k { k_step } else { k };
    let mut kk = 0;
    let mut r = 0;
    while kk < search && r != want {
        kk += 1;
        r = if r >= s - d_mod { r - (s - d_mod) } else { r + d_mod };
    }
    if kk == search || kk > t / d {
        return Taps::NONE;
    }
    let o0 = (t - kk * d) / s;
    // j bounded by o >= 0, kk < k, and o < n_out.
    let by_o = o0 / o_step;
    let by_k = (k - 1 - kk) / k_step;
    let j_hi = if by_o < by_k { by_o } else { by_k };
    let j_lo = if o0 >= n_out { (o0 - n_out + 1).div_ceil(o_step) } else { 0 };
    if n_out == 0 || j_lo > j_hi {
        return Taps::NONE;
    }
    Taps { k0: kk + j_lo * k_step, k_step, o0: o0 - j_lo * o_step, o_step, count: j_hi - j_lo + 1 }
}

// ---------------------------------------------------------------------------------------------
// Kernels. Callers have checked `g.is_valid()` and every buffer length, so slicing is in
// bounds and no index arithmetic overflows (every position is at most `in + 2 * pad`).

/// The forward sum of [`conv2d_forward`].
fn forward_checked(g: &Conv2dGeom, w: &[f32], b: Option<&[f32]>, x: &[f32], y: &mut [f32]) {
    let (in_h, out_h, out_w) = (g.in_h, g.out_h(), g.out_w());
    let cin_g = g.in_channels / g.groups;
    let cout_g = g.out_channels / g.groups;
    let plane_in = in_h * g.in_w;
    let w_len = cin_g * g.kernel[0] * g.kernel[1];
    let plane_out = out_h * out_w;
    for oh in 0..out_h {
        let kh = span(oh * g.stride[0], g.dilation[0], g.padding[0], in_h, g.kernel[0]);
        for ow in 0..out_w {
            let kw = span(ow * g.stride[1], g.dilation[1], g.padding[1], g.in_w, g.kernel[1]);
            let window = Window { g, oh, ow, kh, kw };
            let at = oh * out_w + ow;
            // output channels side by side, CHANNEL_BLOCK at a time within a group, then one by
            // one (each with its own accumulator and order: a block shares the input loads)
            let mut o = 0;
            while o < g.out_channels {
                let grp = o / cout_g;
                let x_grp = &x[grp * cin_g * plane_in..][..cin_g * plane_in];
                let n = if cout_g - o % cout_g >= CHANNEL_BLOCK { CHANNEL_BLOCK } else { 1 };
                let w_blk = &w[o * w_len..][..n * w_len];
                let mut put = |acc: &[f32]| {
                    for (j, &a) in acc.iter().enumerate() {
                        y[(o + j) * plane_out + at] = match b {
                            Some(b) => a + b[o + j],
                            None => a,
                        };
                    }
                };
                if n == CHANNEL_BLOCK {
                    put(&window.sums::<CHANNEL_BLOCK>(w_blk, w_len, x_grp));
                } else {
                    put(&window.sums::<1>(w_blk, w_len, x_grp));
                }
                o += n;
            }
        }
    }
}

/// Output channels whose sums [`forward_checked`] computes side by side: on the Cortex-M4F the
/// digits CNN's inference takes 11.0 instructions per MAC with 8 (32.6 one channel at a time,
/// 9.7 with 16, which needs 270 more bytes of stack).
const CHANNEL_BLOCK: usize = 8;

/// The in-bounds taps of one output position: kernel rows `kh.0..kh.1`, columns `kw.0..kw.1`.
struct Window<'g> {
    g: &'g Conv2dGeom,
    oh: usize,
    ow: usize,
    kh: (usize, usize),
    kw: (usize, usize),
}

impl Window<'_> {
    /// The sums of `N` output channels of one group at this position: `w` holds their
    /// weights one after the other (`w_len` each), `x` the group's input channels. Each sum
    /// starts at `0.0` and adds `w * x` over `ci`, `kh`, `kw` ascending.
    fn sums<const N: usize>(&self, w: &[f32], w_len: usize, x: &[f32]) -> [f32; N] {
        let g = self.g;
        let mut acc = [0.0f32; N];
        let ((kh_lo, kh_hi), (kw_lo, kw_hi)) = (self.kh, self.kw);
        if kw_lo >= kw_hi {
            return acc;
        }
        let [kh_n, kw_n] = g.kernel;
        let (in_w, plane_in) = (g.in_w, g.in_h * g.in_w);
        let iw0 = self.ow * g.stride[1] + kw_lo * g.dilation[1] - g.padding[1];
        let rows: [&[f32]; N] = core::array::from_fn(|j| &w[j * w_len..][..w_len]);
        for (ci, x_c) in x.chunks_exact(plane_in).enumerate() {
            for kh in kh_lo..kh_hi {
                let ih = self.oh * g.stride[0] + kh * g.dilation[0] - g.padding[0];
                let x_row = &x_c[ih * in_w + iw0..];
                let base = (ci * kh_n + kh) * kw_n;
                let taps: [&[f32]; N] =
                    core::array::from_fn(|j| &rows[j][base + kw_lo..base + kw_hi]);
                for (k, &xv) in x_row.iter().step_by(g.dilation[1]).take(kw_hi - kw_lo).enumerate()
                {
                    for (a, t) in acc.iter_mut().zip(&taps) {
                        *a += t[k] * xv;
                    }
                }
            }
        }
        acc
    }
}

/// The input gradient of a convolution in gather form (also the transposed convolution's
/// forward): `dx[c][ih][iw] = (sum over o in c's group, kh, kw of
/// w[o][c % cin_g][kh][kw] * dy[o][oh][ow]) + b[c]`, `ih + ph = oh * sh + kh * dh`,
/// `iw + pw = ow * sw + kw * dw`.
fn input_grad_checked(g: &Conv2dGeom, w: &[f32], b: Option<&[f32]>, dy: &[f32], dx: &mut [f32]) {
    let (in_h, in_w, out_h, out_w) = (g.in_h, g.in_w, g.out_h(), g.out_w());
    let [kh_n, kw_n] = g.kernel;
    let [sh, sw] = g.stride;
    let [ph, pw] = g.padding;
    let [dh, dw] = g.dilation;
    let cin_g = g.in_channels / g.groups;
    let cout_g = g.out_channels / g.groups;
    let plane_out = out_h * out_w;
    let taps = kh_n * kw_n;
    for (c, dx_c) in dx[..g.input_len()].chunks_exact_mut(in_h * in_w).enumerate() {
        let (grp, cl) = (c / cin_g, c % cin_g);
        let dy_grp = &dy[grp * cout_g * plane_out..][..cout_g * plane_out];
        let bias = b.map(|b| b[c]);
        for (ih, dx_row) in dx_c.chunks_exact_mut(in_w).enumerate() {
            let th = gather_taps(ih + ph, kh_n, sh, dh, out_h);
            for (iw, out) in dx_row.iter_mut().enumerate() {
                let tw = gather_taps(iw + pw, kw_n, sw, dw, out_w);
                let mut acc = 0.0f32;
                if th.count > 0 && tw.count > 0 {
                    for (o_local, dy_o) in dy_grp.chunks_exact(plane_out).enumerate() {
                        let o = grp * cout_g + o_local;
                        let w_oc = &w[(o * cin_g + cl) * taps..][..taps];
                        for j in 0..th.count {
                            let kh = th.k0 + j * th.k_step;
                            let oh = th.o0 - j * th.o_step;
                            let w_row = &w_oc[kh * kw_n + tw.k0..(kh + 1) * kw_n];
                            // ow = o0, o0 - o_step, ... walks dy's row backwards.
                            let dy_row = &dy_o[oh * out_w..=oh * out_w + tw.o0];
                            let ws = w_row.iter().step_by(tw.k_step);
                            let ds = dy_row.iter().rev().step_by(tw.o_step);
                            for (wv, dv) in ws.zip(ds).take(tw.count) {
                                acc += wv * dv;
                            }
                        }
                    }
                }
                *out = match bias {
                    Some(bv) => acc + bv,
                    None => acc,
                };
            }
        }
    }
}

/// `gw[o][ci][kh][kw] += sum over oh, ow of dy[o][oh][ow] * x[..][ih][iw]` (one accumulator,
/// `oh` then `ow` ascending, in-bounds taps only).
fn weight_grad_checked(g: &Conv2dGeom, dy: &[f32], x: &[f32], gw: &mut [f32]) {
    let (in_h, in_w, out_h, out_w) = (g.in_h, g.in_w, g.out_h(), g.out_w());
    let [kh_n, kw_n] = g.kernel;
    let [sh, sw] = g.stride;
    let [ph, pw] = g.padding;
    let [dh, dw] = g.dilation;
    let cin_g = g.in_channels / g.groups;
    let cout_g = g.out_channels / g.groups;
    let plane_in = in_h * in_w;
    let plane_out = out_h * out_w;
    let taps = kh_n * kw_n;
    let mut gw_taps = gw[..g.weight_len()].chunks_exact_mut(taps);
    for (o, dy_o) in dy[..g.output_len()].chunks_exact(plane_out).enumerate() {
        let x_grp = &x[(o / cout_g) * cin_g * plane_in..][..cin_g * plane_in];
        for (x_c, gw_c) in x_grp.chunks_exact(plane_in).zip(gw_taps.by_ref()) {
            for (kh, gw_row) in gw_c.chunks_exact_mut(kw_n).enumerate() {
                let (oh_lo, oh_hi) = span(kh * dh, sh, ph, in_h, out_h);
                for (kw, gwv) in gw_row.iter_mut().enumerate() {
                    let (ow_lo, ow_hi) = span(kw * dw, sw, pw, in_w, out_w);
                    let mut acc = 0.0f32;
                    if ow_lo < ow_hi {
                        let iw0 = ow_lo * sw + kw * dw - pw;
                        for oh in oh_lo..oh_hi {
                            let ih = oh * sh + kh * dh - ph;
                            let dy_row = &dy_o[oh * out_w + ow_lo..oh * out_w + ow_hi];
                            let x_row = &x_c[ih * in_w + iw0..];
                            for (dv, xv) in dy_row.iter().zip(x_row.iter().step_by(sw)) {
                                acc += dv * xv;
                            }
                        }
                    }
                    *gwv += acc;
                }
            }
        }
    }
}

/// `gb[o] += sum(dy[o][..])`, each plane summed in row-major order.
fn bias_grad(channels: usize, plane: usize, dy: &[f32], gb: &mut [f32]) {
    for (gbo, dy_o) in gb[..channels].iter_mut().zip(dy.chunks_exact(plane)) {
        *gbo += sum(dy_o);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    // ---- naive references (signed indices, a branch per tap) --------------------------------

    /// Direct transcription of the documented forward formula, same order: bit-identical.
    fn naive_conv(g: &Conv2dGeom, w: &[f32], b: Option<&[f32]>, x: &[f32]) -> Vec<f32> {
        let (oh_n, ow_n) = (g.out_h(), g.out_w());
        let cin_g = g.in_channels / g.groups;
        let cout_g = g.out_channels / g.groups;
        let [kh_n, kw_n] = g.kernel;
        let mut y = vec![0.0; g.output_len()];
        for o in 0..g.out_channels {
            for oh in 0..oh_n {
                for ow in 0..ow_n {
                    let mut acc = 0.0f32;
                    for ci in 0..cin_g {
                        for kh in 0..kh_n {
                            for kw in 0..kw_n {
                                let ih = (oh * g.stride[0] + kh * g.dilation[0]) as isize
                                    - g.padding[0] as isize;
                                let iw = (ow * g.stride[1] + kw * g.dilation[1]) as isize
                                    - g.padding[1] as isize;
                                if ih < 0
                                    || iw < 0
                                    || ih >= g.in_h as isize
                                    || iw >= g.in_w as isize
                                {
                                    continue;
                                }
                                let c = (o / cout_g) * cin_g + ci;
                                acc += w[((o * cin_g + ci) * kh_n + kh) * kw_n + kw]
                                    * x[(c * g.in_h + ih as usize) * g.in_w + iw as usize];
                            }
                        }
                    }
                    y[(o * oh_n + oh) * ow_n + ow] = match b {
                        Some(b) => acc + b[o],
                        None => acc,
                    };
                }
            }
        }
        y
    }

    /// Transposed convolution by scatter (PyTorch's definition, different order).
    fn scatter_transpose(g: &ConvTranspose2dGeom, w: &[f32], b: &[f32], x: &[f32]) -> Vec<f32> {
        let (oh_n, ow_n) = (g.out_h(), g.out_w());
        let [kh_n, kw_n] = g.kernel;
        let mut y = vec![0.0; g.output_len()];
        for ci in 0..g.in_channels {
            for ih in 0..g.in_h {
                for iw in 0..g.in_w {
                    for o in 0..g.out_channels {
                        for kh in 0..kh_n {
                            for kw in 0..kw_n {
                                let oh = (ih * g.stride[0] + kh) as isize - g.padding[0] as isize;
                                let ow = (iw * g.stride[1] + kw) as isize - g.padding[1] as isize;
                                if oh < 0 || ow < 0 || oh >= oh_n as isize || ow >= ow_n as isize {
                                    continue;
                                }
                                y[(o * oh_n + oh as usize) * ow_n + ow as usize] += w
                                    [((ci * g.out_channels + o) * kh_n + kh) * kw_n + kw]
                                    * x[(ci * g.in_h + ih) * g.in_w + iw];
                            }
                        }
                    }
                }
            }
        }
        for o in 0..g.out_channels {
            for v in &mut y[o * oh_n * ow_n..(o + 1) * oh_n * ow_n] {
                *v += b[o];
            }
        }
        y
    }

    /// The forward one output at a time, in the documented order (the kernel before it summed
    /// output channels side by side): the blocked kernel must give these bits.
    fn one_output_at_a_time(g: &Conv2dGeom, w: &[f32], b: Option<&[f32]>, x: &[f32]) -> Vec<f32> {
        let (cin_g, cout_g) = (g.in_channels / g.groups, g.out_channels / g.groups);
        let [kh_n, kw_n] = g.kernel;
        let mut y = vec![0.0; g.output_len()];
        for o in 0..g.out_channels {
            for oh in 0..g.out_h() {
                for ow in 0..g.out_w() {
                    let mut acc = 0.0f32;
                    for ci in 0..cin_g {
                        for kh in 0..kh_n {
                            for kw in 0..kw_n {
                                let ih = (oh * g.stride[0] + kh * g.dilation[0]) as isize
                                    - g.padding[0] as isize;
                                let iw = (ow * g.stride[1] + kw * g.dilation[1]) as isize
                                    - g.padding[1] as isize;
                                if ih < 0
                                    || iw < 0
                                    || ih >= g.in_h as isize
                                    || iw >= g.in_w as isize
                                {
                                    continue;
                                }
                                let c = (o / cout_g) * cin_g + ci;
                                let xv = x[(c * g.in_h + ih as usize) * g.in_w + iw as usize];
                                acc += w[((o * cin_g + ci) * kh_n + kh) * kw_n + kw] * xv;
                            }
                        }
                    }
                    y[(o * g.out_h() + oh) * g.out_w() + ow] = b.map_or(acc, |b| acc + b[o]);
                }
            }
        }
        y
    }

    #[test]
    fn packed_weights_give_the_same_bits() {
        let mut rng = Rng::new(23);
        for (ch, kernel, stride, padding) in [
            ([1, 1], [3, 3], [1, 1], [1, 1]),
            ([3, 7], [3, 3], [1, 1], [1, 1]),
            ([2, 8], [2, 3], [2, 1], [0, 2]),
            ([4, 9], [1, 3], [1, 2], [0, 1]),
            ([5, 17], [3, 2], [2, 2], [2, 0]),
            ([16, 32], [3, 3], [1, 1], [1, 1]),
        ] {
            let g = geom(ch, [6, 7], kernel, stride, padding, [1, 1], 1);
            assert!(g.is_valid(), "{g:?}");
            let (w, b) = (randn(&mut rng, g.weight_len()), randn(&mut rng, g.out_channels));
            let mut x = randn(&mut rng, g.input_len());
            x[0] = -0.0;
            let taps = kernel[0] * kernel[1];
            let mut wp = vec![0.0; g.out_channels.div_ceil(PACK) * g.in_channels * taps * PACK];
            for o in 0..g.out_channels {
                for t in 0..g.in_channels * taps {
                    wp[((o / PACK) * g.in_channels * taps + t) * PACK + o % PACK] =
                        w[o * g.in_channels * taps + t];
                }
            }
            let (mut y, mut reference) =
                (vec![f32::NAN; g.output_len()], vec![0.0; g.output_len()]);
            conv2d_forward_packed(&g, &wp, &b, &x, &mut y);
            conv2d_forward(&g, &w, Some(&b), &x, &mut reference);
            assert_eq!(bits(&y), bits(&reference), "{g:?}");
            // short weights, groups or dilation: nothing written
            let mut untouched = vec![f32::NAN; g.output_len()];
            conv2d_forward_packed(&g, &wp[1..], &b, &x, &mut untouched);
            let dilated = Conv2dGeom { dilation: [1, 2], ..g };
            conv2d_forward_packed(&dilated, &wp, &b, &x, &mut untouched);
            assert!(untouched.iter().all(|v| v.is_nan()));
        }
    }

    #[test]
    fn channel_blocks_keep_each_outputs_bits() {
        let mut rng = Rng::new(17);
        // blocks of 8 and the channels left over, within groups; padding, stride, dilation
        for (ch, groups, kernel, stride, padding, dilation) in [
            ([3, 8], 1, [3, 3], [1, 1], [1, 1], [1, 1]),
            ([2, 17], 1, [3, 2], [2, 1], [1, 0], [1, 2]),
            ([4, 18], 2, [3, 3], [1, 2], [2, 1], [2, 1]),
            ([6, 27], 3, [1, 3], [1, 1], [0, 2], [1, 1]),
            ([5, 7], 1, [2, 2], [1, 1], [1, 1], [1, 1]),
        ] {
            let g = geom(ch, [6, 7], kernel, stride, padding, dilation, groups);
            assert!(g.is_valid(), "{g:?}");
            let (w, b, x) = (
                randn(&mut rng, g.weight_len()),
                randn(&mut rng, g.out_channels),
                randn(&mut rng, g.input_len()),
            );
            for bias in [Some(&b[..]), None] {
                let mut y = vec![f32::NAN; g.output_len()];
                conv2d_forward(&g, &w, bias, &x, &mut y);
                assert_eq!(bits(&y), bits(&one_output_at_a_time(&g, &w, bias, &x)), "{g:?}");
            }
        }
    }

    fn randn(rng: &mut Rng, n: usize) -> Vec<f32> {
        (0..n).map(|_| rng.normal()).collect()
    }

    fn inner(a: &[f32], b: &[f32]) -> f32 {
        crate::kernel::reduce::dot(a, b)
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    fn geom(
        ch: [usize; 2],
        in_hw: [usize; 2],
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        dilation: [usize; 2],
        groups: usize,
    ) -> Conv2dGeom {
        Conv2dGeom {
            in_channels: ch[0],
            out_channels: ch[1],
            in_h: in_hw[0],
            in_w: in_hw[1],
            kernel,
            stride,
            padding,
            dilation,
            groups,
        }
    }

    /// Forward equals the naive reference bit for bit, with and without bias.
    fn check_against_naive(g: &Conv2dGeom, seed: u64) {
        assert!(g.is_valid(), "{g:?}");
        let mut rng = Rng::new(seed);
        let w = randn(&mut rng, g.weight_len());
        let b = randn(&mut rng, g.out_channels);
        let x = randn(&mut rng, g.input_len());
        let mut y = vec![f32::NAN; g.output_len()];
        conv2d_forward(g, &w, Some(&b), &x, &mut y);
        assert_eq!(bits(&y), bits(&naive_conv(g, &w, Some(&b), &x)), "{g:?}");
        conv2d_forward(g, &w, None, &x, &mut y);
        assert_eq!(bits(&y), bits(&naive_conv(g, &w, None, &x)), "{g:?}");
    }

    // ---- (1) by hand -------------------------------------------------------------------------

    #[test]
    fn conv2d_1x3x3_by_hand() {
        // x = [[1, 2, 3], [4, 5, 6], [7, 8, 9]], w = [[1, 2], [3, 4]], b = 0.5
        let g = geom([1, 1], [3, 3], [2, 2], [1, 1], [0, 0], [1, 1], 1);
        assert_eq!((g.out_h(), g.out_w(), g.weight_len(), g.macs()), (2, 2, 4, 16));
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
        let w = [1.0, 2.0, 3.0, 4.0];
        let mut y = [0.0; 4];
        conv2d_forward(&g, &w, Some(&[0.5]), &x, &mut y);
        assert_eq!(y, [37.5, 47.5, 67.5, 77.5]);
        conv2d_forward(&g, &w, None, &x, &mut y);
        assert_eq!(y, [37.0, 47.0, 67.0, 77.0]);

        let dy = [1.0, 0.0, 0.0, 2.0];
        let (mut dx, mut gw, mut gb) = ([f32::NAN; 9], [0.0; 4], [0.25]);
        conv2d_backward(&g, &w, &x, &dy, Some(&mut dx), &mut gw, Some(&mut gb));
        assert_eq!(dx, [1.0, 2.0, 0.0, 3.0, 6.0, 4.0, 0.0, 6.0, 8.0]);
        assert_eq!(gw, [11.0, 14.0, 20.0, 23.0]);
        assert_eq!(gb, [3.25]);
        // gw and gb accumulate; dx is overwritten.
        conv2d_backward(&g, &w, &x, &dy, Some(&mut dx), &mut gw, None);
        assert_eq!(gw, [22.0, 28.0, 40.0, 46.0]);
        assert_eq!(gb, [3.25]);
        assert_eq!(dx, [1.0, 2.0, 0.0, 3.0, 6.0, 4.0, 0.0, 6.0, 8.0]);
    }

    #[test]
    fn conv2d_padding_by_hand() {
        // x = [[1, 2], [3, 4]], w = [[1, 1], [1, 1]], padding 1: every window sum.
        let g = geom([1, 1], [2, 2], [2, 2], [1, 1], [1, 1], [1, 1], 1);
        assert_eq!((g.out_h(), g.out_w()), (3, 3));
        // In-bounds taps per axis: 1 + 2 + 1.
        assert_eq!(g.macs(), 16);
        let mut y = [0.0; 9];
        conv2d_forward(&g, &[1.0; 4], None, &[1.0, 2.0, 3.0, 4.0], &mut y);
        assert_eq!(y, [1.0, 3.0, 2.0, 4.0, 10.0, 6.0, 3.0, 7.0, 4.0]);
        // 3x3 input, 3x3 kernel, padding 1: taps per axis 2 + 3 + 2.
        let g = geom([1, 1], [3, 3], [3, 3], [1, 1], [1, 1], [1, 1], 1);
        assert_eq!(g.macs(), 49);
    }

    #[test]
    fn conv_transpose2d_backward_writes_nothing_when_one_buffer_is_short() {
        let g = ConvTranspose2dGeom {
            in_channels: 2,
            out_channels: 3,
            in_h: 2,
            in_w: 2,
            kernel: [2, 2],
            stride: [2, 2],
            padding: [0, 0],
            output_padding: [0, 0],
        };
        let (wl, xl, yl) = (g.weight_len(), g.input_len(), g.output_len());
        let (w, x, dy) = (vec![0.5; wl], vec![1.5; xl], vec![0.25; yl]);
        // each output buffer one short on its own: gw, dx, gb
        for short in 0..3 {
            let mut gw = vec![7.0; wl - usize::from(short == 0)];
            let mut dx = vec![7.0; xl - usize::from(short == 1)];
            let mut gb = vec![7.0; 3 - usize::from(short == 2)];
            conv_transpose2d_backward(&g, &w, &x, &dy, Some(&mut dx), &mut gw, Some(&mut gb));
            let untouched = |v: &[f32]| v.iter().all(|&e| e == 7.0);
            assert!(untouched(&gw) && untouched(&dx) && untouched(&gb), "buffer {short} short");
        }
        // and at full length they are written
        let (mut gw, mut dx, mut gb) = (vec![7.0; wl], vec![7.0; xl], vec![7.0; 3]);
        conv_transpose2d_backward(&g, &w, &x, &dy, Some(&mut dx), &mut gw, Some(&mut gb));
        assert!(gw.iter().chain(&dx).chain(&gb).any(|&e| e != 7.0));
    }

    #[test]
    fn grouped_macs_divide_the_input_channels() {
        // 4 -> 6 channels in 2 groups, 3x3 kernel, 5x5 input, no padding: 3x3 outputs, each
        // output value sums (4 / 2) * 3 * 3 taps
        let g = geom([4, 6], [5, 5], [3, 3], [1, 1], [0, 0], [1, 1], 2);
        assert!(g.is_valid());
        assert_eq!(g.macs(), 6 * 3 * 3 * (4 / 2) * 3 * 3);
    }

    #[test]
    fn conv_transpose2d_stride2_by_hand() {
        // Kernel 2x2, stride 2: y[2i + a][2j + b] = x[i][j] * w[a][b] + bias.
        let g = ConvTranspose2dGeom {
            in_channels: 1,
            out_channels: 1,
            in_h: 2,
            in_w: 2,
            kernel: [2, 2],
            stride: [2, 2],
            padding: [0, 0],
            output_padding: [0, 0],
        };
        assert!(g.is_valid());
        assert_eq!((g.out_h(), g.out_w(), g.macs()), (4, 4, 16));
        let x = [1.0, 2.0, 3.0, 4.0];
        let w = [1.0, 10.0, 100.0, 1000.0];
        let mut y = [0.0; 16];
        conv_transpose2d_forward(&g, &w, Some(&[0.5]), &x, &mut y);
        #[rustfmt::skip]
        let want = [
            1.5, 10.5, 2.5, 20.5,
            100.5, 1000.5, 200.5, 2000.5,
            3.5, 30.5, 4.5, 40.5,
            300.5, 3000.5, 400.5, 4000.5,
        ];
        assert_eq!(y, want);
        // Backward: dx[i][j] = sum_ab w[a][b] dy[2i+a][2j+b]; gw[a][b] = sum_ij x dy.
        let mut dy = [0.0; 16];
        dy[0] = 1.0; // (0, 0): tap a = b = 0 of x[0][0]
        dy[15] = 2.0; // (3, 3): tap a = b = 1 of x[1][1]
        let (mut dx, mut gw, mut gb) = ([f32::NAN; 4], [0.0; 4], [0.0]);
        conv_transpose2d_backward(&g, &w, &x, &dy, Some(&mut dx), &mut gw, Some(&mut gb));
        assert_eq!(dx, [1.0, 0.0, 0.0, 2000.0]);
        assert_eq!(gw, [1.0, 0.0, 0.0, 8.0]);
        assert_eq!(gb, [3.0]);
        // Padding 1 crops one row/column from each side: out 2x2 = centre of the above.
        let g = ConvTranspose2dGeom { padding: [1, 1], ..g };
        let mut y = [0.0; 4];
        conv_transpose2d_forward(&g, &w, None, &x, &mut y);
        assert_eq!(y, [1000.0, 200.0, 30.0, 4.0]);
        assert_eq!(g.macs(), 4);
    }

    // ---- (2) conv1d --------------------------------------------------------------------------

    #[test]
    fn conv1d_by_hand_and_against_naive() {
        // x = [1, 2, 3, 4, 5], w = [1, 0, -1], stride 2, padding 1: out 3.
        let g = Conv2dGeom::conv1d(1, 1, 5, 3, 2, 1, 1, 1);
        assert_eq!((g.out_h(), g.out_w(), g.output_len()), (1, 3, 3));
        let mut y = [0.0; 3];
        conv2d_forward(&g, &[1.0, 0.0, -1.0], None, &[1.0, 2.0, 3.0, 4.0, 5.0], &mut y);
        assert_eq!(y, [-2.0, -2.0, 4.0]);
        // Dilation 2, kernel 3: reach 5; length 7 -> 3 outputs.
        let g = Conv2dGeom::conv1d(2, 3, 7, 3, 1, 0, 2, 1);
        assert_eq!(g.out_w(), 3);
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0];
        let mut w = [0.0; 18];
        w[0] = 1.0; // o 0, ci 0, k 0
        w[2] = 1.0; // o 0, ci 0, k 2
        w[5] = 3.0; // o 0, ci 1, k 2
        let mut y = [0.0; 9];
        conv2d_forward(&g, &w, None, &x, &mut y);
        // y[0][t] = x0[t] + x0[t + 4] + 3 x1[t + 4]
        assert_eq!(&y[..3], &[6.0, 8.0, 13.0]);
        for (i, geo) in [
            Conv2dGeom::conv1d(2, 3, 7, 3, 1, 0, 2, 1),
            Conv2dGeom::conv1d(4, 2, 9, 2, 2, 1, 1, 2),
            Conv2dGeom::conv1d(3, 3, 6, 3, 1, 2, 3, 3),
            Conv2dGeom::conv1d(1, 2, 1, 1, 1, 0, 1, 1),
        ]
        .iter()
        .enumerate()
        {
            check_against_naive(geo, 10 + i as u64);
        }
    }

    // ---- (3) options -------------------------------------------------------------------------

    #[test]
    fn groups_two_by_hand() {
        // 2 channels, 1x1 kernels, groups 2: each output sees its own channel only.
        let g = geom([2, 2], [1, 2], [1, 1], [1, 1], [0, 0], [1, 1], 2);
        assert_eq!(g.weight_len(), 2);
        let mut y = [0.0; 4];
        conv2d_forward(&g, &[2.0, 3.0], Some(&[0.0, 1.0]), &[1.0, 2.0, 3.0, 4.0], &mut y);
        assert_eq!(y, [2.0, 4.0, 10.0, 13.0]);
        // in 4, out 2, groups 2: output 1 sums input channels 2 and 3.
        let g = geom([4, 2], [1, 1], [1, 1], [1, 1], [0, 0], [1, 1], 2);
        let mut y = [0.0; 2];
        conv2d_forward(&g, &[1.0, 2.0, 3.0, 4.0], None, &[1.0, 10.0, 100.0, 1000.0], &mut y);
        assert_eq!(y, [21.0, 4300.0]);
        check_against_naive(&geom([4, 6], [5, 4], [2, 3], [1, 2], [1, 0], [1, 1], 2), 1);
    }

    #[test]
    fn depthwise_by_hand() {
        // groups = in = out = 2, 3x3 kernel of ones, padding 1: neighbourhood sums per channel.
        let g = geom([2, 2], [2, 2], [3, 3], [1, 1], [1, 1], [1, 1], 2);
        assert_eq!((g.weight_len(), g.out_h(), g.out_w()), (18, 2, 2));
        let mut w = [1.0; 18];
        w[9..].fill(-1.0);
        let x = [1.0, 2.0, 3.0, 4.0, 10.0, 20.0, 30.0, 40.0];
        let mut y = [0.0; 8];
        conv2d_forward(&g, &w, None, &x, &mut y);
        assert_eq!(y, [10.0, 10.0, 10.0, 10.0, -100.0, -100.0, -100.0, -100.0]);
        check_against_naive(&geom([3, 3], [6, 5], [3, 3], [2, 1], [1, 1], [2, 1], 3), 2);
    }

    #[test]
    fn stride_padding_dilation_rectangular_kernel() {
        // in 7x8, kernel [2, 3], stride 2, padding 1, dilation 2:
        // out_h = (7 + 2 - 2 - 1) / 2 + 1 = 4, out_w = (8 + 2 - 4 - 1) / 2 + 1 = 3.
        let g = geom([2, 3], [7, 8], [2, 3], [2, 2], [1, 1], [2, 2], 1);
        assert_eq!((g.out_h(), g.out_w()), (4, 3));
        assert_eq!(g.weight_len(), 3 * 2 * 2 * 3);
        check_against_naive(&g, 3);
        // Only w[0][0][1][1] = 1: y[oh][ow] = x[2 oh - 1 + 2][2 ow - 1 + 2] = x[2 oh + 1][2 ow + 1],
        // so a single hot input at (1, 1) shows up at (0, 0) only.
        let g1 = geom([1, 1], [7, 8], [2, 3], [2, 2], [1, 1], [2, 2], 1);
        let mut w = [0.0; 6];
        w[4] = 1.0; // kh 1, kw 1
        let mut x = [0.0; 56];
        x[9] = 5.0; // (1, 1)
        let mut y = [0.0; 12];
        conv2d_forward(&g1, &w, None, &x, &mut y);
        let mut want = [0.0; 12];
        want[0] = 5.0;
        assert_eq!(y, want);
        for (i, geo) in [
            geom([1, 2], [5, 5], [3, 3], [2, 2], [1, 1], [1, 1], 1),
            geom([2, 2], [6, 7], [2, 3], [1, 1], [0, 1], [1, 1], 1),
            geom([2, 4], [9, 9], [3, 2], [3, 2], [2, 1], [2, 3], 2),
            geom([1, 1], [2, 2], [1, 1], [1, 1], [3, 2], [1, 1], 1),
            geom([6, 6], [4, 5], [2, 2], [2, 3], [1, 2], [3, 1], 6),
        ]
        .iter()
        .enumerate()
        {
            check_against_naive(geo, 20 + i as u64);
        }
    }

    #[test]
    fn conv_transpose2d_matches_scatter_definition() {
        let mut rng = Rng::new(7);
        let mut checked = 0;
        while checked < 40 {
            let s = [1 + rng.below(3), 1 + rng.below(3)];
            let g = ConvTranspose2dGeom {
                in_channels: 1 + rng.below(3),
                out_channels: 1 + rng.below(3),
                in_h: 1 + rng.below(4),
                in_w: 1 + rng.below(4),
                kernel: [1 + rng.below(4), 1 + rng.below(4)],
                stride: s,
                padding: [rng.below(3), rng.below(3)],
                output_padding: [rng.below(s[0]), rng.below(s[1])],
            };
            if !g.is_valid() {
                continue;
            }
            checked += 1;
            let w = randn(&mut rng, g.weight_len());
            let b = randn(&mut rng, g.out_channels);
            let x = randn(&mut rng, g.input_len());
            let mut y = vec![f32::NAN; g.output_len()];
            conv_transpose2d_forward(&g, &w, Some(&b), &x, &mut y);
            let want = scatter_transpose(&g, &w, &b, &x);
            for (a, e) in y.iter().zip(&want) {
                assert!((a - e).abs() <= 1e-5 * (1.0 + e.abs()), "{g:?}: {a} vs {e}");
            }
        }
    }

    // ---- (4) finite differences --------------------------------------------------------------

    /// Central difference of `loss` in `v[i]` (f32, step `h`).
    fn numeric(v: &mut [f32], i: usize, h: f32, loss: &mut dyn FnMut(&[f32]) -> f32) -> f32 {
        let keep = v[i];
        v[i] = keep + h;
        let up = loss(v);
        v[i] = keep - h;
        let down = loss(v);
        v[i] = keep;
        (up - down) / (2.0 * h)
    }

    fn assert_close(analytic: &[f32], param: &mut [f32], mut loss: impl FnMut(&[f32]) -> f32) {
        const H: f32 = 1e-2;
        assert_eq!(analytic.len(), param.len());
        for (i, &a) in analytic.iter().enumerate() {
            let num = numeric(param, i, H, &mut loss);
            let tol = 2e-3 + 2e-2 * num.abs();
            assert!((a - num).abs() <= tol, "element {i}: analytic {a} numeric {num}");
        }
    }

    /// Loss `<r, forward(w, b, x)>`, so `dy = r`.
    fn grad_check_conv(g: &Conv2dGeom, rng: &mut Rng) {
        let mut w = randn(rng, g.weight_len());
        let mut b = randn(rng, g.out_channels);
        let mut x = randn(rng, g.input_len());
        let r = randn(rng, g.output_len());
        let (mut dx, mut gw, mut gb) =
            (vec![f32::NAN; g.input_len()], vec![0.0; g.weight_len()], vec![0.0; g.out_channels]);
        conv2d_backward(g, &w, &x, &r, Some(&mut dx), &mut gw, Some(&mut gb));
        let loss = |w: &[f32], b: &[f32], x: &[f32]| {
            let mut y = vec![0.0; g.output_len()];
            conv2d_forward(g, w, Some(b), x, &mut y);
            inner(&r, &y)
        };
        let (w0, b0, x0) = (w.clone(), b.clone(), x.clone());
        assert_close(&dx, &mut x, |x| loss(&w0, &b0, x));
        assert_close(&gw, &mut w, |w| loss(w, &b0, &x0));
        assert_close(&gb, &mut b, |b| loss(&w0, b, &x0));
        // Without dx the parameter gradients are the same, bit for bit.
        let (mut gw2, mut gb2) = (vec![0.0; g.weight_len()], vec![0.0; g.out_channels]);
        conv2d_backward(g, &w0, &x0, &r, None, &mut gw2, Some(&mut gb2));
        assert_eq!((bits(&gw), bits(&gb)), (bits(&gw2), bits(&gb2)));
    }

    fn grad_check_transpose(g: &ConvTranspose2dGeom, rng: &mut Rng) {
        let mut w = randn(rng, g.weight_len());
        let mut b = randn(rng, g.out_channels);
        let mut x = randn(rng, g.input_len());
        let r = randn(rng, g.output_len());
        let (mut dx, mut gw, mut gb) =
            (vec![f32::NAN; g.input_len()], vec![0.0; g.weight_len()], vec![0.0; g.out_channels]);
        conv_transpose2d_backward(g, &w, &x, &r, Some(&mut dx), &mut gw, Some(&mut gb));
        let loss = |w: &[f32], b: &[f32], x: &[f32]| {
            let mut y = vec![0.0; g.output_len()];
            conv_transpose2d_forward(g, w, Some(b), x, &mut y);
            inner(&r, &y)
        };
        let (w0, b0, x0) = (w.clone(), b.clone(), x.clone());
        assert_close(&dx, &mut x, |x| loss(&w0, &b0, x));
        assert_close(&gw, &mut w, |w| loss(w, &b0, &x0));
        assert_close(&gb, &mut b, |b| loss(&w0, b, &x0));
    }

    #[test]
    fn conv2d_backward_matches_finite_differences() {
        let mut rng = Rng::new(11);
        // The named options, then random geometries.
        let fixed = [
            geom([4, 2], [4, 5], [2, 3], [2, 1], [1, 1], [2, 1], 2),
            geom([3, 3], [5, 5], [3, 3], [2, 2], [1, 1], [1, 2], 3),
            geom([2, 2], [6, 5], [2, 3], [2, 2], [1, 1], [2, 2], 1),
        ];
        for g in &fixed {
            grad_check_conv(g, &mut rng);
        }
        let mut checked = 0;
        while checked < 30 {
            let groups = 1 + rng.below(3);
            let g = geom(
                [groups * (1 + rng.below(2)), groups * (1 + rng.below(2))],
                [1 + rng.below(6), 1 + rng.below(6)],
                [1 + rng.below(3), 1 + rng.below(3)],
                [1 + rng.below(3), 1 + rng.below(3)],
                [rng.below(3), rng.below(3)],
                [1 + rng.below(2), 1 + rng.below(2)],
                groups,
            );
            if !g.is_valid() {
                continue;
            }
            checked += 1;
            grad_check_conv(&g, &mut rng);
        }
    }

    #[test]
    fn conv_transpose2d_backward_matches_finite_differences() {
        let mut rng = Rng::new(12);
        let mut checked = 0;
        while checked < 30 {
            let s = [1 + rng.below(3), 1 + rng.below(3)];
            let g = ConvTranspose2dGeom {
                in_channels: 1 + rng.below(3),
                out_channels: 1 + rng.below(3),
                in_h: 1 + rng.below(4),
                in_w: 1 + rng.below(4),
                kernel: [1 + rng.below(3), 1 + rng.below(4)],
                stride: s,
                padding: [rng.below(2), rng.below(3)],
                output_padding: [rng.below(s[0]), rng.below(s[1])],
            };
            if !g.is_valid() {
                continue;
            }
            checked += 1;
            grad_check_transpose(&g, &mut rng);
        }
    }

    /// The documented backward orders, transcribed naively (a branch per tap): `dx` gathers
    /// over o, kh, kw; `gw` sums over oh, ow then adds; `gb` sums the plane then adds.
    fn naive_backward(g: &Conv2dGeom, w: &[f32], x: &[f32], dy: &[f32]) -> [Vec<f32>; 3] {
        let (oh_n, ow_n) = (g.out_h(), g.out_w());
        let cin_g = g.in_channels / g.groups;
        let cout_g = g.out_channels / g.groups;
        let [kh_n, kw_n] = g.kernel;
        let [sh, sw] = g.stride;
        let [ph, pw] = g.padding;
        let [dh, dw] = g.dilation;
        let mut dx = vec![0.0; g.input_len()];
        for c in 0..g.in_channels {
            for ih in 0..g.in_h {
                for iw in 0..g.in_w {
                    let mut acc = 0.0f32;
                    for o in (c / cin_g) * cout_g..(c / cin_g + 1) * cout_g {
                        for kh in 0..kh_n {
                            for kw in 0..kw_n {
                                let th = (ih + ph) as isize - (kh * dh) as isize;
                                let tw = (iw + pw) as isize - (kw * dw) as isize;
                                if th < 0
                                    || tw < 0
                                    || th % sh as isize != 0
                                    || tw % sw as isize != 0
                                {
                                    continue;
                                }
                                let (oh, ow) = (th as usize / sh, tw as usize / sw);
                                if oh >= oh_n || ow >= ow_n {
                                    continue;
                                }
                                acc += w[((o * cin_g + c % cin_g) * kh_n + kh) * kw_n + kw]
                                    * dy[(o * oh_n + oh) * ow_n + ow];
                            }
                        }
                    }
                    dx[(c * g.in_h + ih) * g.in_w + iw] = acc;
                }
            }
        }
        let mut gw = vec![0.0; g.weight_len()];
        for o in 0..g.out_channels {
            for ci in 0..cin_g {
                for kh in 0..kh_n {
                    for kw in 0..kw_n {
                        let mut acc = 0.0f32;
                        for oh in 0..oh_n {
                            for ow in 0..ow_n {
                                let ih = (oh * sh + kh * dh) as isize - ph as isize;
                                let iw = (ow * sw + kw * dw) as isize - pw as isize;
                                if ih < 0
                                    || iw < 0
                                    || ih >= g.in_h as isize
                                    || iw >= g.in_w as isize
                                {
                                    continue;
                                }
                                let c = (o / cout_g) * cin_g + ci;
                                acc += dy[(o * oh_n + oh) * ow_n + ow]
                                    * x[(c * g.in_h + ih as usize) * g.in_w + iw as usize];
                            }
                        }
                        gw[((o * cin_g + ci) * kh_n + kh) * kw_n + kw] += acc;
                    }
                }
            }
        }
        let gb = (0..g.out_channels)
            .map(|o| {
                let mut acc = 0.0f32;
                for v in &dy[o * oh_n * ow_n..(o + 1) * oh_n * ow_n] {
                    acc += v;
                }
                0.0 + acc
            })
            .collect();
        [dx, gw, gb]
    }

    #[test]
    fn conv2d_backward_sums_in_documented_order() {
        let mut rng = Rng::new(13);
        let mut checked = 0;
        while checked < 60 {
            let groups = 1 + rng.below(3);
            let g = geom(
                [groups * (1 + rng.below(2)), groups * (1 + rng.below(3))],
                [1 + rng.below(8), 1 + rng.below(8)],
                [1 + rng.below(4), 1 + rng.below(4)],
                [1 + rng.below(4), 1 + rng.below(4)],
                [rng.below(4), rng.below(4)],
                [1 + rng.below(3), 1 + rng.below(3)],
                groups,
            );
            if !g.is_valid() {
                continue;
            }
            checked += 1;
            let w = randn(&mut rng, g.weight_len());
            let x = randn(&mut rng, g.input_len());
            let dy = randn(&mut rng, g.output_len());
            let (mut dx, mut gw, mut gb) = (
                vec![f32::NAN; g.input_len()],
                vec![0.0; g.weight_len()],
                vec![0.0; g.out_channels],
            );
            conv2d_backward(&g, &w, &x, &dy, Some(&mut dx), &mut gw, Some(&mut gb));
            let [ndx, ngw, ngb] = naive_backward(&g, &w, &x, &dy);
            assert_eq!(bits(&dx), bits(&ndx), "{g:?}");
            assert_eq!(bits(&gw), bits(&ngw), "{g:?}");
            assert_eq!(bits(&gb), bits(&ngb), "{g:?}");
        }
    }

    // ---- (5) adjoint -------------------------------------------------------------------------

    #[test]
    fn conv_transpose2d_is_adjoint_of_conv2d() {
        let mut rng = Rng::new(5);
        for &(k, s, p) in &[
            ([3, 3], [1, 1], [1, 1]),
            ([3, 2], [2, 2], [1, 0]),
            ([2, 3], [2, 3], [0, 1]),
            ([4, 4], [3, 2], [2, 1]),
            ([1, 1], [2, 2], [0, 0]),
        ] {
            let c = geom([3, 2], [7, 6], k, s, p, [1, 1], 1);
            assert!(c.is_valid(), "{c:?}");
            // output_padding recovers the conv's input size exactly.
            let t = ConvTranspose2dGeom {
                in_channels: c.out_channels,
                out_channels: c.in_channels,
                in_h: c.out_h(),
                in_w: c.out_w(),
                kernel: k,
                stride: s,
                padding: p,
                output_padding: [
                    (c.in_h + 2 * p[0] - k[0]) % s[0],
                    (c.in_w + 2 * p[1] - k[1]) % s[1],
                ],
            };
            assert!(t.is_valid(), "{t:?}");
            assert_eq!((t.out_h(), t.out_w()), (c.in_h, c.in_w));
            assert_eq!(t.weight_len(), c.weight_len());
            assert_eq!(t.macs(), c.macs());
            let w = randn(&mut rng, c.weight_len());
            let x = randn(&mut rng, c.input_len());
            let yv = randn(&mut rng, c.output_len());
            let mut cx = vec![0.0; c.output_len()];
            conv2d_forward(&c, &w, None, &x, &mut cx);
            let mut ty = vec![0.0; c.input_len()];
            conv_transpose2d_forward(&t, &w, None, &yv, &mut ty);
            let (lhs, rhs) = (inner(&cx, &yv), inner(&x, &ty));
            let scale: f32 = cx.iter().zip(&yv).map(|(a, b)| (a * b).abs()).sum();
            assert!((lhs - rhs).abs() <= 1e-4 * scale.max(1.0), "{k:?} {s:?} {p:?}: {lhs} {rhs}");
            // conv2d's input gradient is the same gather, so it matches bit for bit.
            let mut dx = vec![0.0; c.input_len()];
            let mut gw = vec![0.0; c.weight_len()];
            conv2d_backward(&c, &w, &x, &yv, Some(&mut dx), &mut gw, None);
            assert_eq!(bits(&dx), bits(&ty));
            // And the transposed conv's input gradient is the conv forward, bit for bit.
            let mut tdx = vec![0.0; t.input_len()];
            let mut tgw = vec![0.0; t.weight_len()];
            conv_transpose2d_backward(&t, &w, &yv, &x, Some(&mut tdx), &mut tgw, None);
            assert_eq!(bits(&tdx), bits(&cx));
            // Both weight gradients are sum over the small grid of dy * x: same bits.
            assert_eq!(bits(&tgw), bits(&gw));
        }
    }

    // ---- (6) invalid geometries and short buffers -------------------------------------------

    #[test]
    fn invalid_geometries_are_rejected_without_panicking() {
        let ok = geom([2, 2], [4, 4], [3, 3], [1, 1], [0, 0], [1, 1], 1);
        assert!(ok.is_valid());
        let big = usize::MAX;
        let bad = [
            Conv2dGeom { in_channels: 0, ..ok },
            Conv2dGeom { out_channels: 0, ..ok },
            Conv2dGeom { groups: 0, ..ok },
            Conv2dGeom { groups: 3, ..ok },
            Conv2dGeom { in_channels: 4, groups: 4, ..ok },
            Conv2dGeom { in_h: 0, ..ok },
            Conv2dGeom { kernel: [0, 3], ..ok },
            Conv2dGeom { kernel: [5, 3], ..ok },
            Conv2dGeom { kernel: [3, 5], ..ok },
            Conv2dGeom { stride: [1, 0], ..ok },
            Conv2dGeom { dilation: [0, 1], ..ok },
            Conv2dGeom { dilation: [2, 1], ..ok },
            Conv2dGeom { padding: [big, 0], ..ok },
            Conv2dGeom { dilation: [1, big], ..ok },
            Conv2dGeom { kernel: [big, big], ..ok },
            Conv2dGeom { in_h: big, in_w: big, ..ok },
            Conv2dGeom { in_channels: big, out_channels: big, ..ok },
            Conv2dGeom::conv1d(1, 1, 2, 3, 1, 0, 1, 1),
        ];
        for g in &bad {
            assert!(!g.is_valid(), "{g:?}");
            assert_eq!(g.macs(), 0, "{g:?}");
            let _ = (g.weight_len(), g.input_len(), g.output_len());
            let (w, x, mut y, mut dx, mut gw, mut gb) =
                ([1.0; 64], [1.0; 64], [7.0; 64], [7.0; 64], [7.0; 64], [7.0; 8]);
            conv2d_forward(g, &w, Some(&w), &x, &mut y);
            conv2d_backward(g, &w, &x, &y.clone(), Some(&mut dx), &mut gw, Some(&mut gb));
            conv2d_forward(g, &[], None, &[], &mut []);
            conv2d_backward(g, &[], &[], &[], Some(&mut [][..]), &mut [], Some(&mut [][..]));
            assert!(y.iter().chain(&dx).chain(&gw).chain(&gb).all(|&v| v == 7.0));
        }
        // Geometries that divide by zero or overflow give 0 sizes, not panics.
        assert_eq!(Conv2dGeom { stride: [0, 0], ..ok }.out_h(), 0);
        assert_eq!(Conv2dGeom { padding: [big, 0], ..ok }.out_h(), 0);
        assert_eq!(Conv2dGeom { groups: 0, ..ok }.weight_len(), 0);
        assert_eq!(Conv2dGeom { in_h: big, in_w: big, ..ok }.input_len(), 0);

        // Valid geometry, short buffers: nothing written.
        let (w, x) = ([1.0; 36], [1.0; 32]);
        let mut y = [7.0; 8];
        conv2d_forward(&ok, &w[..35], None, &x, &mut y);
        conv2d_forward(&ok, &w, None, &x[..31], &mut y);
        conv2d_forward(&ok, &w, None, &x, &mut y[..7]);
        conv2d_forward(&ok, &w, Some(&[1.0]), &x, &mut y);
        assert!(y.iter().all(|&v| v == 7.0));
        let (mut dx, mut gw, mut gb) = ([7.0; 32], [7.0; 36], [7.0; 2]);
        conv2d_backward(&ok, &w, &x, &y, Some(&mut dx[..31]), &mut gw, Some(&mut gb));
        conv2d_backward(&ok, &w, &x, &y, Some(&mut dx), &mut gw[..35], Some(&mut gb));
        conv2d_backward(&ok, &w, &x, &y, Some(&mut dx), &mut gw, Some(&mut gb[..1]));
        conv2d_backward(&ok, &w, &x, &y[..7], Some(&mut dx), &mut gw, Some(&mut gb));
        assert!(dx.iter().chain(&gw).chain(&gb).all(|&v| v == 7.0));
        // Longer buffers are fine: tails untouched.
        let mut y = [7.0; 9];
        conv2d_forward(&ok, &w, None, &x, &mut y);
        assert_eq!(y, [18.0, 18.0, 18.0, 18.0, 18.0, 18.0, 18.0, 18.0, 7.0]);

        let tok = ConvTranspose2dGeom {
            in_channels: 2,
            out_channels: 1,
            in_h: 2,
            in_w: 3,
            kernel: [2, 2],
            stride: [2, 2],
            padding: [0, 0],
            output_padding: [1, 1],
        };
        assert!(tok.is_valid());
        assert_eq!((tok.out_h(), tok.out_w()), (5, 7));
        let tbad = [
            ConvTranspose2dGeom { in_channels: 0, ..tok },
            ConvTranspose2dGeom { out_channels: 0, ..tok },
            ConvTranspose2dGeom { in_w: 0, ..tok },
            ConvTranspose2dGeom { kernel: [0, 2], ..tok },
            ConvTranspose2dGeom { stride: [0, 2], ..tok },
            ConvTranspose2dGeom { output_padding: [2, 0], ..tok },
            ConvTranspose2dGeom { stride: [1, 2], ..tok },
            ConvTranspose2dGeom { padding: [3, 0], ..tok },
            ConvTranspose2dGeom { padding: [big, 0], ..tok },
            ConvTranspose2dGeom { stride: [big, 2], ..tok },
            ConvTranspose2dGeom { kernel: [big, 2], ..tok },
            ConvTranspose2dGeom { in_channels: big, out_channels: big, ..tok },
        ];
        for g in &tbad {
            assert!(!g.is_valid(), "{g:?}");
            assert_eq!(g.macs(), 0, "{g:?}");
            let _ = (g.weight_len(), g.input_len(), g.output_len());
            let (w, x, mut y, mut dx, mut gw, mut gb) =
                ([1.0; 64], [1.0; 64], [7.0; 64], [7.0; 64], [7.0; 64], [7.0; 8]);
            conv_transpose2d_forward(g, &w, Some(&w), &x, &mut y);
            conv_transpose2d_backward(g, &w, &x, &y.clone(), Some(&mut dx), &mut gw, Some(&mut gb));
            conv_transpose2d_forward(g, &[], None, &[], &mut []);
            conv_transpose2d_backward(
                g,
                &[],
                &[],
                &[],
                Some(&mut [][..]),
                &mut [],
                Some(&mut [][..]),
            );
            assert!(y.iter().chain(&dx).chain(&gw).chain(&gb).all(|&v| v == 7.0));
        }
        assert_eq!(ConvTranspose2dGeom { output_padding: [2, 0], ..tok }.out_h(), 0);
        assert_eq!(ConvTranspose2dGeom { padding: [3, 0], ..tok }.out_h(), 0);
        assert_eq!(ConvTranspose2dGeom { stride: [big, 2], ..tok }.out_h(), 0);
        // Short transposed buffers.
        let (w, x) = ([1.0; 8], [1.0; 12]);
        let mut y = [7.0; 35];
        conv_transpose2d_forward(&tok, &w[..7], None, &x, &mut y);
        conv_transpose2d_forward(&tok, &w, None, &x[..11], &mut y);
        conv_transpose2d_forward(&tok, &w, None, &x, &mut y[..34]);
        conv_transpose2d_forward(&tok, &w, Some(&[]), &x, &mut y);
        assert!(y.iter().all(|&v| v == 7.0));
    }
}
