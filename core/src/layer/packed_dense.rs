//! A dense layer for inference with its weights laid out for the loop.

use super::{Dense, Infer, LayerDesc};
use crate::kernel::dense::{self, PACK};
use crate::params::Zeroed;

/// [`Dense<IN, OUT>`] for inference, its weights in blocks of [`PACK`] outputs with each
/// input's `PACK` weights side by side: `weight[block][i][j] = W[block * PACK + j][i]`
/// (zero past the last output). The same outputs, bit for bit, as the `Dense` it was made
/// from ([`PackedDense::from_dense`], usable in a `static` in flash), in fewer instructions
/// on a Cortex-M: [`dense::forward_packed`] loads an input's eight weights at once.
/// `BLOCKS` is `ceil(OUT / PACK)` (checked at compile time; stable Rust cannot compute it
/// from `OUT` in the type).
///
/// Inference only (an [`Infer`]): train the `Dense`, pack it for the device. It describes
/// itself as the `Dense` (`LayerDesc::Dense`), so a model file or an export sees a dense
/// layer.
///
/// ```
/// use neurite::layer::{Dense, Infer, PackedDense};
/// let dense = Dense::<3, 2>::new([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.25]], [0.5, -0.5]);
/// static PACKED: PackedDense<3, 2, 1> =
///     PackedDense::from_dense(&Dense::new([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.25]], [0.5, -0.5]));
/// let (mut y, mut reference) = ([0.0; 2], [0.0; 2]);
/// PACKED.forward(&[1.0, 2.0, 4.0], &mut y);
/// dense.forward(&[1.0, 2.0, 4.0], &mut reference);
/// assert_eq!(y, reference);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct PackedDense<const IN: usize, const OUT: usize, const BLOCKS: usize> {
    /// `BLOCKS` blocks of `IN` rows of `PACK` weights.
    pub weight: [[[f32; PACK]; IN]; BLOCKS],
    /// `OUT` biases.
    pub bias: [f32; OUT],
}

impl<const IN: usize, const OUT: usize, const BLOCKS: usize> PackedDense<IN, OUT, BLOCKS> {
    const BLOCKS_OK: () =
        assert!(BLOCKS == OUT.div_ceil(PACK), "PackedDense: BLOCKS must be ceil(OUT / 8)");

    /// `d`'s weights packed (a `const fn`: a `static` packed at compile time lives in flash).
    pub const fn from_dense(d: &Dense<IN, OUT>) -> Self {
        let () = Self::BLOCKS_OK;
        let mut weight = [[[0.0f32; PACK]; IN]; BLOCKS];
        let mut o = 0;
        while o < OUT {
            let mut i = 0;
            while i < IN {
                weight[o / PACK][i][o % PACK] = d.weight[o][i];
                i += 1;
            }
            o += 1;
        }
        Self { weight, bias: d.bias }
    }
}

impl<const IN: usize, const OUT: usize, const BLOCKS: usize> Zeroed
    for PackedDense<IN, OUT, BLOCKS>
{
    const ZEROED: Self = Self { weight: [[[0.0; PACK]; IN]; BLOCKS], bias: [0.0; OUT] };
}

impl<const IN: usize, const OUT: usize, const BLOCKS: usize> Infer
    for PackedDense<IN, OUT, BLOCKS>
{
    type Input = [f32; IN];
    type Output = [f32; OUT];

    fn forward(&self, x: &[f32; IN], y: &mut [f32; OUT]) {
        let () = Self::BLOCKS_OK;
        dense::forward_packed(self.weight.as_flattened().as_flattened(), &self.bias, x, y);
    }

    fn forward_flat(&self, x: &[f32], y: &mut [f32]) {
        dense::forward_packed(self.weight.as_flattened().as_flattened(), &self.bias, x, y);
    }

    fn describe(&self, f: &mut dyn FnMut(LayerDesc)) {
        f(LayerDesc::Dense { inputs: IN, outputs: OUT });
    }
}
