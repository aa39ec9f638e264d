use super::{Ctx, Infer, Layer};
use crate::kernel::elementwise;
use crate::params::{Params, Zeroed};

/// PReLU with a learnable negative slope: `y = x` if `x > 0`, else `alpha * x`.
///
/// Generics: `N` the width, `A` the number of slopes: 1 (one shared, PyTorch's
/// `num_parameters=1`) or `N` (one per feature); anything else does not compile.
/// Default alpha 0.25 (PyTorch's `init`).
///
/// ```
/// use neurite::prelude::*;
/// let p = Prelu::<3, 1>::new([0.5]);
/// let mut y = [0.0; 3];
/// p.forward(&[-2.0, 0.0, 3.0], &mut y);
/// assert_eq!(y, [-1.0, 0.0, 3.0]);
/// ```
///
/// A slope count other than 1 or `N` fails at build time (a post-monomorphisation const
/// assertion, so `cargo check` alone does not see it):
///
/// ```compile_fail
/// use neurite::prelude::*;
/// let p = Prelu::<4, 3>::new([0.25; 3]);
/// let mut y = [0.0; 4];
/// p.forward(&[1.0; 4], &mut y);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Prelu<const N: usize, const A: usize> {
    /// The slopes.
    pub alpha: [f32; A],
}

impl<const N: usize, const A: usize> Prelu<N, A> {
    const SHAPE_OK: () = assert!(A == 1 || A == N, "PReLU needs 1 or N slopes");

    /// A PReLU with the given slopes.
    pub const fn new(alpha: [f32; A]) -> Self {
        let () = Self::SHAPE_OK;
        Self { alpha }
    }
}

impl<const N: usize, const A: usize> Zeroed for Prelu<N, A> {
    const ZEROED: Self = Self { alpha: [0.0; A] };
}

impl<const N: usize, const A: usize> Params for Prelu<N, A> {
    const TENSORS: usize = 1;
    const LEN: usize = A;
    fn tensor(&self, i: usize) -> &[f32] {
        if i == 0 {
            &self.alpha
        } else {
            &[]
        }
    }
    fn tensor_mut(&mut self, i: usize) -> &mut [f32] {
        if i == 0 {
            &mut self.alpha
        } else {
            &mut []
        }
    }
}

impl<const N: usize, const A: usize> Infer for Prelu<N, A> {
    type Input = [f32; N];
    type Output = [f32; N];

    fn forward(&self, x: &[f32; N], y: &mut [f32; N]) {
        let () = Self::SHAPE_OK;
        elementwise::prelu_forward(&self.alpha, x, y);
    }
    fn forward_flat(&self, x: &[f32], y: &mut [f32]) {
        let () = Self::SHAPE_OK;
        elementwise::prelu_forward(&self.alpha, x, y);
    }
    fn describe(&self, f: &mut dyn FnMut(super::LayerDesc)) {
        f(super::LayerDesc::Prelu { width: N, slopes: A });
    }
}

impl<const N: usize, const A: usize> Layer for Prelu<N, A> {
    type Trace = ();
    type Grads = Self;
    const DEFAULT: Self = Self::new([0.25; A]);
    fn forward_trace(&self, _: &mut Ctx<'_>, x: &[f32; N], _: &mut (), y: &mut [f32; N]) {
        self.forward(x, y);
    }
    fn backward(&self, x: &[f32; N], _: &(), dy: &[f32; N], dx: &mut [f32; N], g: &mut Self) {
        elementwise::prelu_backward(&self.alpha, x, dy, dx, &mut g.alpha);
    }
}

/// Minibatches sample by sample ([`super::BatchLayer`]).
impl<const N: usize, const A: usize> super::PerSample for Prelu<N, A> {}
