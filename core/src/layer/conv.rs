//! Convolutions with the geometry in the type: [`Conv2d`] over `[C][H][W]` samples and
//! [`Conv1d`] over `[C][L]` samples (PyTorch's `nn.Conv2d` / `nn.Conv1d`, zero padding,
//! dilation 1; groups on `Conv2d`, depthwise included), over [`crate::kernel::conv`].
//!
//! The output size is a type parameter that the user writes; a wrong one is a compile error
//! (a const assertion evaluated when the layer's constant, `new`, `forward` or `backward` is
//! used: a `static`/`const` model fails under `cargo check`, a local one at build time).

use super::{Ctx, Infer, Layer, LayerDesc};
use crate::init::LayerInit;
use crate::kernel::conv::{self, Conv2dGeom};
use crate::params::{Params, Vector, Zeroed};
use crate::rng::Rng;

/// 2-D convolution: `y[o] = b[o] + sum_c w[o][c] * x[c]` (cross-correlation), PyTorch's
/// `nn.Conv2d(C, O, (KH, KW), stride=S, padding=P, groups=G)` with dilation 1.
///
/// Generics: `C x H x W` input, `O x OH x OW` output, `KH x KW` kernel, stride `S` and zero
/// padding `P` on both axes (defaults 1 and 0). `OH` must be `(H + 2P - KH) / S + 1` and `OW`
/// `(W + 2P - KW) / S + 1`; anything else does not compile. Groups `G` (default 1; `G = C = O`
/// is depthwise) split the channels: output channel `o` sees input channels
/// `o / (O / G) * CG ..` only, and `CG` (default `C`) must be written as `C / G` (stable Rust
/// cannot compute it in a type; a wrong `CG` does not compile). `weight` is PyTorch's layout
/// `[O][C / G][KH][KW]`, so pretrained weights load as they are. The gradient is another
/// `Conv2d`; no trace (backward recomputes from the input).
///
/// ```
/// use neurite::prelude::*;
/// // 1 -> 2 channels, 4x4 input, 3x3 kernel, stride 1, padding 1: 4x4 output.
/// let mut conv = Conv2d::<1, 4, 4, 2, 4, 4, 3, 3, 1, 1>::DEFAULT;
/// conv.weight[0][0][1][1] = 1.0; // channel 0: identity
/// conv.bias[1] = 0.5; // channel 1: constant
/// let x = [[[1.0, 2.0, 3.0, 4.0]; 4]];
/// let mut y = [[[0.0; 4]; 4]; 2];
/// conv.forward(&x, &mut y);
/// assert_eq!(y[0], x[0]);
/// assert_eq!(y[1], [[0.5; 4]; 4]);
/// ```
///
/// A wrong output size does not compile:
///
/// ```compile_fail
/// use neurite::prelude::*;
/// static CONV: Conv2d<1, 4, 4, 2, 4, 4, 3, 3> = Conv2d::DEFAULT; // OH, OW are 2 without padding
/// ```
///
/// Depthwise (groups = channels = 2, `CG` = 1), and a wrong `CG`, which does not compile:
///
/// ```
/// use neurite::prelude::*;
/// static DEPTHWISE: Conv2d<2, 4, 4, 2, 4, 4, 3, 3, 1, 1, 2, 1> = Conv2d::DEFAULT;
/// ```
///
/// ```compile_fail
/// use neurite::prelude::*;
/// static CONV: Conv2d<4, 4, 4, 4, 4, 4, 3, 3, 1, 1, 2, 4> = Conv2d::DEFAULT; // CG is 4 / 2
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Conv2d<
    const C: usize,
    const H: usize,
    const W: usize,
    const O: usize,
    const OH: usize,
    const OW: usize,
    const KH: usize,
    const KW: usize,
    const S: usize = 1,
    const P: usize = 0,
    const G: usize = 1,
    const CG: usize = C,
> {
    /// `[O][C / G][KH][KW]` kernels.
    pub weight: [[[[f32; KW]; KH]; CG]; O],
    /// `O` biases.
    pub bias: [f32; O],
}

impl<
        const C: usize,
        const H: usize,
        const W: usize,
        const O: usize,
        const OH: usize,
        const OW: usize,
        const KH: usize,
        const KW: usize,
        const S: usize,
        const P: usize,
        const G: usize,
        const CG: usize,
    > Conv2d<C, H, W, O, OH, OW, KH, KW, S, P, G, CG>
{
    const SHAPE_OK: () = {
        let g = Self::UNCHECKED;
        assert!(
            g.is_valid(),
            "Conv2d: zero size, a kernel larger than the padded input, or G not dividing C and O"
        );
        assert!(CG * G == C, "Conv2d: CG must be C / G (the weight's input channels per group)");
        assert!(OH == g.out_h(), "Conv2d: OH must be (H + 2 * P - KH) / S + 1");
        assert!(OW == g.out_w(), "Conv2d: OW must be (W + 2 * P - KW) / S + 1");
    };

    const UNCHECKED: Conv2dGeom = Conv2dGeom {
        in_channels: C,
        out_channels: O,
        in_h: H,
        in_w: W,
        kernel: [KH, KW],
        stride: [S, S],
        padding: [P, P],
        dilation: [1, 1],
        groups: G,
    };

    /// The kernel geometry (evaluating it checks the output size).
    pub const GEOM: Conv2dGeom = {
        let () = Self::SHAPE_OK;
        Self::UNCHECKED
    };

    /// A layer with the given weights (usable in `const` and `static` items: flash).
    pub const fn new(weight: [[[[f32; KW]; KH]; CG]; O], bias: [f32; O]) -> Self {
        let () = Self::SHAPE_OK;
        Self { weight, bias }
    }

    fn w(&self) -> &[f32] {
        self.weight.as_flattened().as_flattened().as_flattened()
    }
}

impl<
        const C: usize,
        const H: usize,
        const W: usize,
        const O: usize,
        const OH: usize,
        const OW: usize,
        const KH: usize,
        const KW: usize,
        const S: usize,
        const P: usize,
        const G: usize,
        const CG: usize,
    > Zeroed for Conv2d<C, H, W, O, OH, OW, KH, KW, S, P, G, CG>
{
    const ZEROED: Self = Self::new([[[[0.0; KW]; KH]; CG]; O], [0.0; O]);
}

impl<
        const C: usize,
        const H: usize,
        const W: usize,
        const O: usize,
        const OH: usize,
        const OW: usize,
        const KH: usize,
        const KW: usize,
        const S: usize,
        const P: usize,
        const G: usize,
        const CG: usize,
    > Params for Conv2d<C, H, W, O, OH, OW, KH, KW, S, P, G, CG>
{
    const TENSORS: usize = 2;
    const LEN: usize = O * CG * KH * KW + O;
    fn tensor(&self, i: usize) -> &[f32] {
        match i {
            0 => self.w(),
            1 => &self.bias,
            _ => &[],
        }
    }
    fn tensor_mut(&mut self, i: usize) -> &mut [f32] {
        match i {
            0 => self.weight.as_flattened_mut().as_flattened_mut().as_flattened_mut(),
            1 => &mut self.bias,
            _ => &mut [],
        }
    }
}

impl<
        const C: usize,
        const H: usize,
        const W: usize,
        const O: usize,
        const OH: usize,
        const OW: usize,
        const KH: usize,
        const KW: usize,
        const S: usize,
        const P: usize,
        const G: usize,
        const CG: usize,
    > Infer for Conv2d<C, H, W, O, OH, OW, KH, KW, S, P, G, CG>
{
    type Input = [[[f32; W]; H]; C];
    type Output = [[[f32; OW]; OH]; O];

    fn forward(&self, x: &Self::Input, y: &mut Self::Output) {
        let x = Vector::as_slice(x);
        conv::conv2d_forward(&Self::GEOM, self.w(), Some(&self.bias), x, Vector::as_mut_slice(y));
    }

    fn forward_flat(&self, x: &[f32], y: &mut [f32]) {
        conv::conv2d_forward(&Self::GEOM, self.w(), Some(&self.bias), x, y);
    }

    fn describe(&self, f: &mut dyn FnMut(LayerDesc)) {
        f(LayerDesc::Other {
            name: "conv2d",
            inputs: C * H * W,
            outputs: O * OH * OW,
            params: <Self as Params>::LEN,
        });
    }
}

impl<
        const C: usize,
        const H: usize,
        const W: usize,
        const O: usize,
        const OH: usize,
        const OW: usize,
        const KH: usize,
        const KW: usize,
        const S: usize,
        const P: usize,
        const G: usize,
        const CG: usize,
    > Layer for Conv2d<C, H, W, O, OH, OW, KH, KW, S, P, G, CG>
{
    type Trace = ();
    type Grads = Self;
    const DEFAULT: Self = Self::ZEROED;

    fn forward_trace(&self, _: &mut Ctx<'_>, x: &Self::Input, _: &mut (), y: &mut Self::Output) {
        self.forward(x, y);
    }

    fn backward(
        &self,
        x: &Self::Input,
        _: &(),
        dy: &Self::Output,
        dx: &mut Self::Input,
        grads: &mut Self,
    ) {
        conv::conv2d_backward(
            &Self::GEOM,
            self.w(),
            Vector::as_slice(x),
            Vector::as_slice(dy),
            Some(Vector::as_mut_slice(dx)),
            grads.weight.as_flattened_mut().as_flattened_mut().as_flattened_mut(),
            Some(&mut grads.bias),
        );
    }

    fn backward_params(&self, x: &Self::Input, _: &(), dy: &Self::Output, grads: &mut Self) {
        conv::conv2d_backward(
            &Self::GEOM,
            self.w(),
            Vector::as_slice(x),
            Vector::as_slice(dy),
            None,
            grads.weight.as_flattened_mut().as_flattened_mut().as_flattened_mut(),
            Some(&mut grads.bias),
        );
    }

    /// Fan-in `C / G * KH * KW`, fan-out `O * KH * KW` (PyTorch's; as the runtime-shaped
    /// `conv2d`).
    fn init(&mut self, init: &LayerInit, rng: &mut Rng) {
        let w = self.weight.as_flattened_mut().as_flattened_mut().as_flattened_mut();
        init.apply_kernel(w, &mut self.bias, CG * KH * KW, O, KH * KW, rng);
    }
}

/// 1-D convolution over `[C][L]` samples, PyTorch's `nn.Conv1d(C, O, K, stride=S,
/// padding=P)` with dilation 1 and groups 1 (the 2-D kernel with height 1,
/// [`Conv2dGeom::conv1d`]).
///
/// Generics: `C x L` input, `O x OL` output, kernel `K`, stride `S` (default 1), zero padding
/// `P` (default 0). `OL` must be `(L + 2P - K) / S + 1`; anything else does not compile.
/// `weight` is `[O][C][K]` (PyTorch's layout).
///
/// ```
/// use neurite::prelude::*;
/// let conv = Conv1d::<1, 4, 1, 3, 2>::new([[[1.0, -1.0]]], [0.0]);
/// let mut y = [[0.0; 3]];
/// conv.forward(&[[1.0, 4.0, 9.0, 16.0]], &mut y);
/// assert_eq!(y, [[-3.0, -5.0, -7.0]]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Conv1d<
    const C: usize,
    const L: usize,
    const O: usize,
    const OL: usize,
    const K: usize,
    const S: usize = 1,
    const P: usize = 0,
> {
    /// `[O][C][K]` kernels.
    pub weight: [[[f32; K]; C]; O],
    /// `O` biases.
    pub bias: [f32; O],
}

impl<
        const C: usize,
        const L: usize,
        const O: usize,
        const OL: usize,
        const K: usize,
        const S: usize,
        const P: usize,
    > Conv1d<C, L, O, OL, K, S, P>
{
    const SHAPE_OK: () = {
        let g = Self::UNCHECKED;
        assert!(g.is_valid(), "Conv1d: zero size, or a kernel larger than the padded input");
        assert!(OL == g.out_w(), "Conv1d: OL must be (L + 2 * P - K) / S + 1");
    };

    const UNCHECKED: Conv2dGeom = Conv2dGeom::conv1d(C, O, L, K, S, P, 1, 1);

    /// The kernel geometry (evaluating it checks the output size).
    pub const GEOM: Conv2dGeom = {
        let () = Self::SHAPE_OK;
        Self::UNCHECKED
    };

    /// A layer with the given weights (usable in `const` and `static` items: flash).
    pub const fn new(weight: [[[f32; K]; C]; O], bias: [f32; O]) -> Self {
        let () = Self::SHAPE_OK;
        Self { weight, bias }
    }

    fn w(&self) -> &[f32] {
        self.weight.as_flattened().as_flattened()
    }
}

impl<
        const C: usize,
        const L: usize,
        const O: usize,
        const OL: usize,
        const K: usize,
        const S: usize,
        const P: usize,
    > Zeroed for Conv1d<C, L, O, OL, K, S, P>
{
    const ZEROED: Self = Self::new([[[0.0; K]; C]; O], [0.0; O]);
}

impl<
        const C: usize,
        const L: usize,
        const O: usize,
        const OL: usize,
        const K: usize,
        const S: usize,
        const P: usize,
    > Params for Conv1d<C, L, O, OL, K, S, P>
{
    const TENSORS: usize = 2;
    const LEN: usize = O * C * K + O;
    fn tensor(&self, i: usize) -> &[f32] {
        match i {
            0 => self.w(),
            1 => &self.bias,
            _ => &[],
        }
    }
    fn tensor_mut(&mut self, i: usize) -> &mut [f32] {
        match i {
            0 => self.weight.as_flattened_mut().as_flattened_mut(),
            1 => &mut self.bias,
            _ => &mut [],
        }
    }
}

impl<
        const C: usize,
        const L: usize,
        const O: usize,
        const OL: usize,
        const K: usize,
        const S: usize,
        const P: usize,
    > Infer for Conv1d<C, L, O, OL, K, S, P>
{
    type Input = [[f32; L]; C];
    type Output = [[f32; OL]; O];

    fn forward(&self, x: &Self::Input, y: &mut Self::Output) {
        let x = Vector::as_slice(x);
        conv::conv2d_forward(&Self::GEOM, self.w(), Some(&self.bias), x, Vector::as_mut_slice(y));
    }

    fn forward_flat(&self, x: &[f32], y: &mut [f32]) {
        conv::conv2d_forward(&Self::GEOM, self.w(), Some(&self.bias), x, y);
    }

    fn describe(&self, f: &mut dyn FnMut(LayerDesc)) {
        f(LayerDesc::Other {
            name: "conv1d",
            inputs: C * L,
            outputs: O * OL,
            params: <Self as Params>::LEN,
        });
    }
}

impl<
        const C: usize,
        const L: usize,
        const O: usize,
        const OL: usize,
        const K: usize,
        const S: usize,
        const P: usize,
    > Layer for Conv1d<C, L, O, OL, K, S, P>
{
    type Trace = ();
    type Grads = Self;
    const DEFAULT: Self = Self::ZEROED;

    fn forward_trace(&self, _: &mut Ctx<'_>, x: &Self::Input, _: &mut (), y: &mut Self::Output) {
        self.forward(x, y);
    }

    fn backward(
        &self,
        x: &Self::Input,
        _: &(),
        dy: &Self::Output,
        dx: &mut Self::Input,
        grads: &mut Self,
    ) {
        conv::conv2d_backward(
            &Self::GEOM,
            self.w(),
            Vector::as_slice(x),
            Vector::as_slice(dy),
            Some(Vector::as_mut_slice(dx)),
            grads.weight.as_flattened_mut().as_flattened_mut(),
            Some(&mut grads.bias),
        );
    }

    fn backward_params(&self, x: &Self::Input, _: &(), dy: &Self::Output, grads: &mut Self) {
        conv::conv2d_backward(
            &Self::GEOM,
            self.w(),
            Vector::as_slice(x),
            Vector::as_slice(dy),
            None,
            grads.weight.as_flattened_mut().as_flattened_mut(),
            Some(&mut grads.bias),
        );
    }

    /// Fan-in `C * K`, fan-out `O * K` (PyTorch's; as the runtime-shaped `conv1d`).
    fn init(&mut self, init: &LayerInit, rng: &mut Rng) {
        let w = self.weight.as_flattened_mut().as_flattened_mut();
        init.apply_kernel(w, &mut self.bias, C * K, O, K, rng);
    }
}

/// Minibatches sample by sample ([`super::BatchLayer`]).
impl<
        const C: usize,
        const H: usize,
        const W: usize,
        const O: usize,
        const OH: usize,
        const OW: usize,
        const KH: usize,
        const KW: usize,
        const S: usize,
        const P: usize,
        const G: usize,
        const CG: usize,
    > super::PerSample for Conv2d<C, H, W, O, OH, OW, KH, KW, S, P, G, CG>
{
}

/// Minibatches sample by sample ([`super::BatchLayer`]).
impl<
        const C: usize,
        const L: usize,
        const O: usize,
        const OL: usize,
        const K: usize,
        const S: usize,
        const P: usize,
    > super::PerSample for Conv1d<C, L, O, OL, K, S, P>
{
}
