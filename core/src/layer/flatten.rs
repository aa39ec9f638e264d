//! Reshapes: a sample viewed with another shape of the same size, values in row-major order
//! (a copy; nothing is computed). [`Flatten`] turns an image into a row for a dense head.

use core::marker::PhantomData;

use super::{Ctx, Infer, Layer, LayerDesc};
use crate::params::Vector;

/// The sample `X` viewed as `Y` (same number of values, row-major order): `y = x`, `dx = dy`.
///
/// Use the aliases [`Flatten`] (`[C][H][W]` to `[N]`) and [`Flatten1d`] (`[C][L]` to `[N]`);
/// `Reshape<[f32; 64], [[[f32; 4]; 4]; 4]>` unflattens. Sizes that differ do not compile.
///
/// ```
/// use neurite::prelude::*;
/// let mut y = [0.0; 4];
/// Flatten::<1, 2, 2, 4>::DEFAULT.forward(&[[[1.0, 2.0], [3.0, 4.0]]], &mut y);
/// assert_eq!(y, [1.0, 2.0, 3.0, 4.0]);
/// ```
pub struct Reshape<X, Y>(PhantomData<fn(X) -> Y>);

/// `[C][H][W]` to `[f32; N]`, PyTorch's `nn.Flatten()` on one sample; `N` must be
/// `C * H * W` (a compile error otherwise).
pub type Flatten<const C: usize, const H: usize, const W: usize, const N: usize> =
    Reshape<[[[f32; W]; H]; C], [f32; N]>;

/// `[C][L]` to `[f32; N]`; `N` must be `C * L` (a compile error otherwise).
pub type Flatten1d<const C: usize, const L: usize, const N: usize> =
    Reshape<[[f32; L]; C], [f32; N]>;

impl<X: Vector, Y: Vector> Reshape<X, Y> {
    const SHAPE_OK: () =
        assert!(X::LEN == Y::LEN, "Flatten/Reshape: N must be the input size (C * H * W)");

    /// The layer (checks the sizes).
    pub const fn new() -> Self {
        let () = Self::SHAPE_OK;
        Self(PhantomData)
    }
}

impl<X: Vector, Y: Vector> Default for Reshape<X, Y> {
    fn default() -> Self {
        Self::new()
    }
}

impl<X, Y> Clone for Reshape<X, Y> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<X, Y> Copy for Reshape<X, Y> {}

impl<X, Y> PartialEq for Reshape<X, Y> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<X, Y> core::fmt::Debug for Reshape<X, Y> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Reshape")
    }
}

crate::params::no_params! {
    [X, Y] Reshape<X, Y>;
}

impl<X: Vector, Y: Vector> Infer for Reshape<X, Y> {
    type Input = X;
    type Output = Y;

    fn forward(&self, x: &X, y: &mut Y) {
        let () = Self::SHAPE_OK;
        y.as_mut_slice().copy_from_slice(x.as_slice());
    }

    /// The same copy, over the values both slices hold.
    fn forward_flat(&self, x: &[f32], y: &mut [f32]) {
        let () = Self::SHAPE_OK;
        super::copy_flat(x, y);
    }

    fn describe(&self, f: &mut dyn FnMut(LayerDesc)) {
        f(LayerDesc::Other { name: "reshape", inputs: X::LEN, outputs: Y::LEN, params: 0 });
    }
}

impl<X: Vector, Y: Vector> Layer for Reshape<X, Y> {
    type Trace = ();
    type Grads = ();
    const DEFAULT: Self = Self::new();

    fn forward_trace(&self, _: &mut Ctx<'_>, x: &X, _: &mut (), y: &mut Y) {
        self.forward(x, y);
    }

    fn backward(&self, _: &X, _: &(), dy: &Y, dx: &mut X, _: &mut ()) {
        let () = Self::SHAPE_OK;
        dx.as_mut_slice().copy_from_slice(dy.as_slice());
    }

    /// Nothing to do: no parameters.
    fn backward_params(&self, _: &X, _: &(), _: &Y, _: &mut ()) {}
}

/// Minibatches sample by sample ([`super::BatchLayer`]).
impl<X: Vector, Y: Vector> super::PerSample for Reshape<X, Y> {}
