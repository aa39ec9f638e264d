//! Inverted dropout over a sample of any shape, over [`crate::kernel::norm`].

use core::marker::PhantomData;

use super::{copy_flat, Ctx, Infer, Layer, LayerDesc};
use crate::kernel::norm::{apply_mask, dropout_mask};
use crate::params::Vector;

/// Inverted dropout over samples `X` (a row `[f32; N]` or a shaped array), PyTorch's
/// `nn.Dropout(p)`.
///
/// - Training forward ([`Layer::forward_trace`]) in train mode with a generator
///   ([`Ctx::train_rng`]): draws a mask for the sample ([`dropout_mask`]: each value dropped
///   with probability `p`, the rest scaled by `1 / (1 - p)`, one draw per value in index
///   order), keeps it in the trace and writes `y = x * mask`; backward is `dx = dy * mask`.
/// - Eval mode, or no generator, and inference ([`Infer::forward`]): the identity (the
///   trace's mask is all ones, so backward passes `dy` through).
///
/// No parameters; the trace is one mask of `X::LEN` values. The masks come from the
/// context's generator, sample by sample, as the runtime-shaped `dropout(p)` draws them, so
/// a seed gives the same masks in both. `p <= 0` never drops (and draws nothing); `p >= 1`
/// drops everything.
///
/// ```
/// use neurite::prelude::*;
/// let drop = Dropout::<[f32; 4]>::new(0.5);
/// let x = [1.0, 2.0, 3.0, 4.0];
/// let (mut y, mut mask) = ([0.0; 4], [0.0; 4]);
/// drop.forward_trace(&mut Ctx::eval(), &x, &mut mask, &mut y);
/// assert_eq!(y, x); // eval mode: the identity
/// let mut rng = Rng::new(1);
/// drop.forward_trace(&mut Ctx::train_with(&mut rng), &x, &mut mask, &mut y);
/// for i in 0..4 {
///     assert!(y[i] == 0.0 || y[i] == 2.0 * x[i]); // dropped, or scaled by 1 / (1 - p)
/// }
/// ```
pub struct Dropout<X> {
    /// Probability of dropping each value; PyTorch's default 0.5.
    pub p: f32,
    sample: PhantomData<fn(X) -> X>,
}

impl<X: Vector> Dropout<X> {
    /// Dropout with probability `p`.
    pub const fn new(p: f32) -> Self {
        Self { p, sample: PhantomData }
    }
}

impl<X> Clone for Dropout<X> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<X> Copy for Dropout<X> {}

impl<X> PartialEq for Dropout<X> {
    fn eq(&self, other: &Self) -> bool {
        self.p == other.p
    }
}

impl<X> core::fmt::Debug for Dropout<X> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Dropout").field("p", &self.p).finish()
    }
}

crate::params::no_params! {
    [X] Dropout<X>;
}

impl<X: Vector> Infer for Dropout<X> {
    type Input = X;
    type Output = X;

    /// The identity (inference is eval mode).
    fn forward(&self, x: &X, y: &mut X) {
        *y = *x;
    }

    fn forward_flat(&self, x: &[f32], y: &mut [f32]) {
        copy_flat(x, y);
    }

    fn describe(&self, f: &mut dyn FnMut(LayerDesc)) {
        f(LayerDesc::Other { name: "dropout", inputs: X::LEN, outputs: X::LEN, params: 0 });
    }
}

impl<X: Vector> Layer for Dropout<X> {
    /// The sample's mask (all ones when no mask was drawn).
    type Trace = X;
    type Grads = ();
    /// `p = 0.5`.
    const DEFAULT: Self = Self::new(0.5);

    fn forward_trace(&self, ctx: &mut Ctx<'_>, x: &X, mask: &mut X, y: &mut X) {
        if let Some(rng) = ctx.train_rng() {
            dropout_mask(self.p, rng, mask.as_mut_slice());
            apply_mask(mask.as_slice(), x.as_slice(), y.as_mut_slice());
        } else {
            mask.as_mut_slice().fill(1.0);
            *y = *x;
        }
    }

    fn backward(&self, _: &X, mask: &X, dy: &X, dx: &mut X, _: &mut ()) {
        apply_mask(mask.as_slice(), dy.as_slice(), dx.as_mut_slice());
    }

    /// Nothing to do: no parameters.
    fn backward_params(&self, _: &X, _: &X, _: &X, _: &mut ()) {}
}

/// Minibatches sample by sample ([`super::BatchLayer`]): one mask per sample, drawn in
/// sample order.
impl<X: Vector> super::PerSample for Dropout<X> {}
