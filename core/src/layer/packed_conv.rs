//! A 2-D convolution for inference with its weights laid out for the loop.

use super::{Conv2d, Infer, LayerDesc};
use crate::kernel::conv::{self, Conv2dGeom};
use crate::kernel::dense::PACK;
use crate::params::{Params, Vector, Zeroed};

/// [`Conv2d`] (groups 1) for inference, its weights in blocks of [`PACK`] output channels
/// with each tap's `PACK` weights side by side:
/// `weight[block][c][kh][kw][j] = W[block * PACK + j][c][kh][kw]` (zero past the last output
/// channel). The same outputs, bit for bit, as the `Conv2d` it was made from
/// ([`PackedConv2d::from_conv`], usable in a `static` in flash), in fewer instructions on a
/// Cortex-M: [`conv::conv2d_forward_packed`] loads a tap's eight weights at once. `BLOCKS`
/// is `ceil(O / PACK)` (checked at compile time). The other parameters are `Conv2d`'s.
///
/// Inference only (an [`Infer`]): train the `Conv2d`, pack it for the device. It describes
/// itself as the `Conv2d`.
///
/// ```
/// use neurite::layer::{Conv2d, Infer, PackedConv2d};
/// type Conv = Conv2d<1, 4, 4, 2, 4, 4, 3, 3, 1, 1>; // 1 -> 2 channels, 3x3, padding 1
/// const CONV: Conv = Conv::new([[[[0.5, -1.0, 0.25]; 3]; 1], [[[1.0, 0.0, -0.5]; 3]; 1]], [0.1, -0.2]);
/// static PACKED: PackedConv2d<1, 4, 4, 2, 4, 4, 3, 3, 1, 1, 1> = PackedConv2d::from_conv(&CONV);
/// let x = [[[1.0, 2.0, -3.0, 0.5]; 4]; 1];
/// let (mut y, mut reference) = ([[[0.0; 4]; 4]; 2], [[[0.0; 4]; 4]; 2]);
/// PACKED.forward(&x, &mut y);
/// CONV.forward(&x, &mut reference);
/// assert_eq!(y, reference);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct PackedConv2d<
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
    const BLOCKS: usize,
> {
    /// `BLOCKS` blocks of `[C][KH][KW]` taps of `PACK` weights.
    pub weight: [[[[[f32; PACK]; KW]; KH]; C]; BLOCKS],
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
        const BLOCKS: usize,
    > PackedConv2d<C, H, W, O, OH, OW, KH, KW, S, P, BLOCKS>
{
    const BLOCKS_OK: () =
        assert!(BLOCKS == O.div_ceil(PACK), "PackedConv2d: BLOCKS must be ceil(O / 8)");
    const GEOM: Conv2dGeom = Conv2d::<C, H, W, O, OH, OW, KH, KW, S, P>::GEOM;

    /// `c`'s weights packed (a `const fn`: a `static` packed at compile time lives in flash).
    pub const fn from_conv(c: &Conv2d<C, H, W, O, OH, OW, KH, KW, S, P>) -> Self {
        let () = Self::BLOCKS_OK;
        let mut weight = [[[[[0.0f32; PACK]; KW]; KH]; C]; BLOCKS];
        let mut o = 0;
        while o < O {
            let mut ci = 0;
            while ci < C {
                let mut kh = 0;
                while kh < KH {
                    let mut kw = 0;
                    while kw < KW {
                        weight[o / PACK][ci][kh][kw][o % PACK] = c.weight[o][ci][kh][kw];
                        kw += 1;
                    }
                    kh += 1;
                }
                ci += 1;
            }
            o += 1;
        }
        Self { weight, bias: c.bias }
    }

    fn w(&self) -> &[f32] {
        self.weight.as_flattened().as_flattened().as_flattened().as_flattened()
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
        const BLOCKS: usize,
    > Zeroed for PackedConv2d<C, H, W, O, OH, OW, KH, KW, S, P, BLOCKS>
{
    const ZEROED: Self = Self { weight: [[[[[0.0; PACK]; KW]; KH]; C]; BLOCKS], bias: [0.0; O] };
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
        const BLOCKS: usize,
    > Infer for PackedConv2d<C, H, W, O, OH, OW, KH, KW, S, P, BLOCKS>
{
    type Input = [[[f32; W]; H]; C];
    type Output = [[[f32; OW]; OH]; O];

    fn forward(&self, x: &Self::Input, y: &mut Self::Output) {
        let () = Self::BLOCKS_OK;
        let (x, y) = (Vector::as_slice(x), Vector::as_mut_slice(y));
        conv::conv2d_forward_packed(&Self::GEOM, self.w(), &self.bias, x, y);
    }

    fn forward_flat(&self, x: &[f32], y: &mut [f32]) {
        let () = Self::BLOCKS_OK;
        conv::conv2d_forward_packed(&Self::GEOM, self.w(), &self.bias, x, y);
    }

    fn describe(&self, f: &mut dyn FnMut(LayerDesc)) {
        f(LayerDesc::Other {
            name: "conv2d",
            inputs: C * H * W,
            outputs: O * OH * OW,
            params: <Conv2d<C, H, W, O, OH, OW, KH, KW, S, P> as Params>::LEN,
        });
    }
}
