use super::{Ctx, Infer, Layer};
use crate::kernel::softmax;

/// Softmax over `N` values: `y_i = e^{x_i} / sum_j e^{x_j}` (max-subtracted).
/// Backward recomputes `y` from `x` (no trace).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Softmax<const N: usize>;

/// Log-softmax over `N` values: `y_i = x_i - ln sum_j e^{x_j}`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LogSoftmax<const N: usize>;

macro_rules! vector_op_layer {
    ($name:ident, $fw:path, $bw:path) => {
        crate::params::no_params! {
            [const N: usize] $name<N>;
        }

        impl<const N: usize> Infer for $name<N> {
            type Input = [f32; N];
            type Output = [f32; N];

            fn forward(&self, x: &[f32; N], y: &mut [f32; N]) {
                $fw(x, y);
            }
            fn forward_flat(&self, x: &[f32], y: &mut [f32]) {
                $fw(x, y);
            }
            fn describe(&self, f: &mut dyn FnMut(super::LayerDesc)) {
                f(super::LayerDesc::$name { width: N });
            }
        }

        impl<const N: usize> Layer for $name<N> {
            type Trace = ();
            type Grads = ();
            const DEFAULT: Self = Self;
            fn forward_trace(&self, _: &mut Ctx<'_>, x: &[f32; N], _: &mut (), y: &mut [f32; N]) {
                $fw(x, y);
            }
            fn backward(&self, x: &[f32; N], _: &(), dy: &[f32; N], dx: &mut [f32; N], _: &mut ()) {
                let mut y = [0.0; N];
                $fw(x, &mut y);
                $bw(&y, dy, dx);
            }
        }

        /// Minibatches sample by sample ([`super::BatchLayer`]).
        impl<const N: usize> super::PerSample for $name<N> {}
    };
}

vector_op_layer!(Softmax, softmax::softmax, softmax::softmax_backward);
vector_op_layer!(LogSoftmax, softmax::log_softmax, softmax::log_softmax_backward);
