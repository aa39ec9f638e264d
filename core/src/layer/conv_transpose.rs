//! Transposed convolution with the geometry in the type: [`ConvTranspose2d`] over `[C][H][W]`
//! samples (PyTorch's `nn.ConvTranspose2d`, groups 1, dilation 1), over
//! [`crate::kernel::conv::conv_transpose2d_forward`] and its backward.

use super::{Ctx, Infer, Layer, LayerDesc};
use crate::init::LayerInit;
use crate::kernel::conv::{self, ConvTranspose2dGeom};
use crate::params::{Params, Vector, Zeroed};
use crate::rng::Rng;

/// Transposed 2-D convolution (the decoder's upsampling): each input value scatters
/// `x[c][i][j] * w[c][o]` into the output window at `(i * S - P, j * S - P)`, PyTorch's
/// `nn.ConvTranspose2d(C, O, (KH, KW), stride=S, padding=P, output_padding=OP)` with
/// dilation 1 and groups 1.
///
/// Generics: `C x H x W` input, `O x OH x OW` output, `KH x KW` kernel, stride `S`, padding
/// `P` and output padding `OP` on both axes (defaults 1, 0 and 0; `OP` must be below `S`).
/// `OH` must be `(H - 1) * S - 2P + KH + OP` and `OW` `(W - 1) * S - 2P + KW + OP`; anything
/// else does not compile. `weight` is PyTorch's layout `[C][O][KH][KW]` (input channels
/// first), so pretrained weights load as they are. The gradient is another
/// `ConvTranspose2d`; no trace (backward recomputes from the input).
///
/// ```
/// use neurite::prelude::*;
/// // 1 -> 1 channel, 2x2 input, 2x2 kernel, stride 2: each value becomes a 2x2 block.
/// let up = ConvTranspose2d::<1, 2, 2, 1, 4, 4, 2, 2, 2>::new([[[[1.0; 2]; 2]]], [0.0]);
/// let mut y = [[[0.0; 4]; 4]];
/// up.forward(&[[[1.0, 2.0], [3.0, 4.0]]], &mut y);
/// assert_eq!(y[0][0], [1.0, 1.0, 2.0, 2.0]);
/// assert_eq!(y[0][3], [3.0, 3.0, 4.0, 4.0]);
/// ```
///
/// A wrong output size does not compile:
///
/// ```compile_fail
/// use neurite::prelude::*;
/// static UP: ConvTranspose2d<1, 2, 2, 1, 3, 4, 2, 2, 2> = ConvTranspose2d::DEFAULT; // OH is 4
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ConvTranspose2d<
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
    const OP: usize = 0,
> {
    /// `[C][O][KH][KW]` kernels (input channel first, PyTorch's layout).
    pub weight: [[[[f32; KW]; KH]; O]; C],
    /// `O` biases.
    pub bias: [f32; O],
}

macro_rules! ct_impl {
    ($($tr:path)? { $($body:tt)* }) => {
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
                const OP: usize,
            > $($tr for)? ConvTranspose2d<C, H, W, O, OH, OW, KH, KW, S, P, OP>
        {
            $($body)*
        }
    };
}

ct_impl!({
    const SHAPE_OK: () = {
        let g = Self::UNCHECKED;
        assert!(
            g.is_valid(),
            "ConvTranspose2d: zero size, OP not below S, or no output for this padding"
        );
        assert!(OH == g.out_h(), "ConvTranspose2d: OH must be (H - 1) * S - 2 * P + KH + OP");
        assert!(OW == g.out_w(), "ConvTranspose2d: OW must be (W - 1) * S - 2 * P + KW + OP");
    };

    const UNCHECKED: ConvTranspose2dGeom = ConvTranspose2dGeom {
        in_channels: C,
        out_channels: O,
        in_h: H,
        in_w: W,
        kernel: [KH, KW],
        stride: [S, S],
        padding: [P, P],
        output_padding: [OP, OP],
    };

    /// The kernel geometry (evaluating it checks the output size).
    pub const GEOM: ConvTranspose2dGeom = {
        let () = Self::SHAPE_OK;
        Self::UNCHECKED
    };

    /// A layer with the given weights (usable in `const` and `static` items: flash).
    pub const fn new(weight: [[[[f32; KW]; KH]; O]; C], bias: [f32; O]) -> Self {
        let () = Self::SHAPE_OK;
        Self { weight, bias }
    }

    fn w(&self) -> &[f32] {
        self.weight.as_flattened().as_flattened().as_flattened()
    }
});

ct_impl!(Zeroed {
    const ZEROED: Self = Self::new([[[[0.0; KW]; KH]; O]; C], [0.0; O]);
});

ct_impl!(Params {
    const TENSORS: usize = 2;
    const LEN: usize = C * O * KH * KW + O;
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
});

ct_impl!(Infer {
    type Input = [[[f32; W]; H]; C];
    type Output = [[[f32; OW]; OH]; O];

    fn forward(&self, x: &Self::Input, y: &mut Self::Output) {
        let x = Vector::as_slice(x);
        let y = Vector::as_mut_slice(y);
        conv::conv_transpose2d_forward(&Self::GEOM, self.w(), Some(&self.bias), x, y);
    }

    fn forward_flat(&self, x: &[f32], y: &mut [f32]) {
        conv::conv_transpose2d_forward(&Self::GEOM, self.w(), Some(&self.bias), x, y);
    }

    fn describe(&self, f: &mut dyn FnMut(LayerDesc)) {
        f(LayerDesc::Other {
            name: "conv_transpose2d",
            inputs: C * H * W,
            outputs: O * OH * OW,
            params: <Self as Params>::LEN,
        });
    }
});

ct_impl!(Layer {
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
        conv::conv_transpose2d_backward(
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
        conv::conv_transpose2d_backward(
            &Self::GEOM,
            self.w(),
            Vector::as_slice(x),
            Vector::as_slice(dy),
            None,
            grads.weight.as_flattened_mut().as_flattened_mut().as_flattened_mut(),
            Some(&mut grads.bias),
        );
    }

    /// Fan-in `O * KH * KW`, fan-out `C * KH * KW` (PyTorch's, from `weight.size(1)` and
    /// `weight.size(0)`; as the runtime-shaped `conv_transpose2d`).
    fn init(&mut self, init: &LayerInit, rng: &mut Rng) {
        let w = self.weight.as_flattened_mut().as_flattened_mut().as_flattened_mut();
        init.apply_kernel(w, &mut self.bias, O * KH * KW, C, KH * KW, rng);
    }
});

// Minibatches sample by sample ([`super::BatchLayer`]).
ct_impl!(super::PerSample {});
