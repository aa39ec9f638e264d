//! Pooling with the geometry in the type: [`MaxPool2d`], [`AvgPool2d`] over `[C][H][W]`
//! samples and [`MaxPool1d`], [`AvgPool1d`] over `[C][L]` samples (PyTorch's
//! `nn.MaxPool2d` / `nn.AvgPool2d` / `nn.MaxPool1d` / `nn.AvgPool1d`, `ceil_mode=False`, the
//! average counting the zero padding) and [`GlobalAvgPool`], over [`crate::kernel::pool`].
//!
//! No parameters and no trace: backward recomputes the window maxima from the input.

use super::{Ctx, Infer, Layer, LayerDesc};
use crate::kernel::pool::{self, Pool2dGeom};
use crate::params::Vector;

macro_rules! pool_layer {
    ($(#[$doc:meta])* $name:ident, $label:literal, $check:literal, $size:literal,
     forward: $fw:path, backward: |$g:ident, $x:ident, $dy:ident, $dx:ident| $bw:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq)]
        pub struct $name<
            const C: usize,
            const H: usize,
            const W: usize,
            const OH: usize,
            const OW: usize,
            const K: usize,
            const S: usize = K,
            const P: usize = 0,
        >;

        impl<
                const C: usize,
                const H: usize,
                const W: usize,
                const OH: usize,
                const OW: usize,
                const K: usize,
                const S: usize,
                const P: usize,
            > $name<C, H, W, OH, OW, K, S, P>
        {
            const SHAPE_OK: () = {
                let g = Self::UNCHECKED;
                assert!(g.is_valid() && C > 0, $check);
                assert!(OH == g.out_h() && OW == g.out_w(), $size);
            };

            const UNCHECKED: Pool2dGeom = Pool2dGeom {
                channels: C,
                in_h: H,
                in_w: W,
                kernel: [K, K],
                stride: [S, S],
                padding: [P, P],
            };

            /// The window geometry (evaluating it checks the output size).
            pub const GEOM: Pool2dGeom = {
                let () = Self::SHAPE_OK;
                Self::UNCHECKED
            };

            /// The layer (checks the sizes).
            pub const fn new() -> Self {
                let () = Self::SHAPE_OK;
                Self
            }
        }

        crate::params::no_params! {
            [const C: usize, const H: usize, const W: usize, const OH: usize, const OW: usize,
             const K: usize, const S: usize, const P: usize] $name<C, H, W, OH, OW, K, S, P>;
        }

        impl<
                const C: usize,
                const H: usize,
                const W: usize,
                const OH: usize,
                const OW: usize,
                const K: usize,
                const S: usize,
                const P: usize,
            > Infer for $name<C, H, W, OH, OW, K, S, P>
        {
            type Input = [[[f32; W]; H]; C];
            type Output = [[[f32; OW]; OH]; C];

            fn forward(&self, x: &Self::Input, y: &mut Self::Output) {
                $fw(&Self::GEOM, Vector::as_slice(x), Vector::as_mut_slice(y));
            }

            fn forward_flat(&self, x: &[f32], y: &mut [f32]) {
                $fw(&Self::GEOM, x, y);
            }

            fn describe(&self, f: &mut dyn FnMut(LayerDesc)) {
                f(LayerDesc::Other {
                    name: $label,
                    inputs: C * H * W,
                    outputs: C * OH * OW,
                    params: 0,
                });
            }
        }

        impl<
                const C: usize,
                const H: usize,
                const W: usize,
                const OH: usize,
                const OW: usize,
                const K: usize,
                const S: usize,
                const P: usize,
            > Layer for $name<C, H, W, OH, OW, K, S, P>
        {
            type Trace = ();
            type Grads = ();
            const DEFAULT: Self = Self::new();

            fn forward_trace(
                &self,
                _: &mut Ctx<'_>,
                x: &Self::Input,
                _: &mut (),
                y: &mut Self::Output,
            ) {
                self.forward(x, y);
            }

            fn backward(
                &self,
                x: &Self::Input,
                _: &(),
                dy: &Self::Output,
                dx: &mut Self::Input,
                _: &mut (),
            ) {
                let ($g, $x, $dy, $dx) = (
                    &Self::GEOM,
                    Vector::as_slice(x),
                    Vector::as_slice(dy),
                    Vector::as_mut_slice(dx),
                );
                $bw;
            }

            /// Nothing to do: no parameters.
            fn backward_params(&self, _: &Self::Input, _: &(), _: &Self::Output, _: &mut ()) {}
        }

        /// Minibatches sample by sample ([`super::BatchLayer`]).
        impl<
                const C: usize,
                const H: usize,
                const W: usize,
                const OH: usize,
                const OW: usize,
                const K: usize,
                const S: usize,
                const P: usize,
            > super::PerSample for $name<C, H, W, OH, OW, K, S, P>
        {
        }
    };
}

pool_layer!(
    /// Max pooling, PyTorch's `nn.MaxPool2d(K, stride=S, padding=P)` (`ceil_mode=False`,
    /// dilation 1): `y[c][oh][ow]` is the maximum of its `K x K` window (padding never wins;
    /// ties go to the first maximum in row-major order, a NaN wins).
    ///
    /// Generics: `C x H x W` input, `C x OH x OW` output, square window `K`, stride `S`
    /// (default `K`), padding `P` (default 0, at most `K / 2`). `OH` must be
    /// `(H + 2P - K) / S + 1` (`OW` likewise); anything else does not compile.
    ///
    /// ```
    /// use neurite::prelude::*;
    /// let pool = MaxPool2d::<1, 2, 4, 1, 2, 2>::DEFAULT;
    /// let mut y = [[[0.0; 2]; 1]; 1];
    /// pool.forward(&[[[1.0, 5.0, -1.0, -2.0], [3.0, 2.0, -4.0, -3.0]]], &mut y);
    /// assert_eq!(y, [[[5.0, -1.0]]]);
    /// ```
    MaxPool2d,
    "maxpool2d",
    "MaxPool2d: zero size, padding above K / 2, or a window larger than the padded input",
    "MaxPool2d: OH and OW must be (H + 2 * P - K) / S + 1 and (W + 2 * P - K) / S + 1",
    forward: pool::maxpool2d_forward,
    backward: |g, x, dy, dx| pool::maxpool2d_backward(g, x, dy, dx)
);

pool_layer!(
    /// Average pooling, PyTorch's `nn.AvgPool2d(K, stride=S, padding=P)` with its defaults
    /// (`ceil_mode=False`, `count_include_pad=True`): the window's sum over `K * K`.
    ///
    /// Generics as [`MaxPool2d`]; a wrong output size does not compile.
    ///
    /// ```
    /// use neurite::prelude::*;
    /// let pool = AvgPool2d::<1, 2, 4, 1, 2, 2>::DEFAULT;
    /// let mut y = [[[0.0; 2]; 1]; 1];
    /// pool.forward(&[[[1.0, 5.0, -1.0, -2.0], [3.0, 3.0, -4.0, -1.0]]], &mut y);
    /// assert_eq!(y, [[[3.0, -2.0]]]);
    /// ```
    AvgPool2d,
    "avgpool2d",
    "AvgPool2d: zero size, padding above K / 2, or a window larger than the padded input",
    "AvgPool2d: OH and OW must be (H + 2 * P - K) / S + 1 and (W + 2 * P - K) / S + 1",
    forward: pool::avgpool2d_forward,
    backward: |g, _x, dy, dx| pool::avgpool2d_backward(g, dy, dx)
);

/// Global average pooling: `y[c]` is the mean of channel `c`'s `H * W` values (PyTorch's
/// `nn.AdaptiveAvgPool2d(1)` followed by a flatten). Output `[f32; C]`.
///
/// ```
/// use neurite::prelude::*;
/// let mut y = [0.0; 2];
/// GlobalAvgPool::<2, 1, 2>::DEFAULT.forward(&[[[1.0, 3.0]], [[-2.0, 0.0]]], &mut y);
/// assert_eq!(y, [2.0, -1.0]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GlobalAvgPool<const C: usize, const H: usize, const W: usize>;

crate::params::no_params! {
    [const C: usize, const H: usize, const W: usize] GlobalAvgPool<C, H, W>;
}

impl<const C: usize, const H: usize, const W: usize> Infer for GlobalAvgPool<C, H, W> {
    type Input = [[[f32; W]; H]; C];
    type Output = [f32; C];

    fn forward(&self, x: &Self::Input, y: &mut [f32; C]) {
        pool::global_avg_pool_forward(C, Vector::as_slice(x), y);
    }

    fn forward_flat(&self, x: &[f32], y: &mut [f32]) {
        pool::global_avg_pool_forward(C, x, y);
    }

    fn describe(&self, f: &mut dyn FnMut(LayerDesc)) {
        f(LayerDesc::Other { name: "global_avg_pool", inputs: C * H * W, outputs: C, params: 0 });
    }
}

impl<const C: usize, const H: usize, const W: usize> Layer for GlobalAvgPool<C, H, W> {
    type Trace = ();
    type Grads = ();
    const DEFAULT: Self = Self;

    fn forward_trace(&self, _: &mut Ctx<'_>, x: &Self::Input, _: &mut (), y: &mut [f32; C]) {
        self.forward(x, y);
    }

    fn backward(&self, _: &Self::Input, _: &(), dy: &[f32; C], dx: &mut Self::Input, _: &mut ()) {
        pool::global_avg_pool_backward(C, dy, Vector::as_mut_slice(dx));
    }

    /// Nothing to do: no parameters.
    fn backward_params(&self, _: &Self::Input, _: &(), _: &[f32; C], _: &mut ()) {}
}

/// Minibatches sample by sample ([`super::BatchLayer`]).
impl<const C: usize, const H: usize, const W: usize> super::PerSample for GlobalAvgPool<C, H, W> {}

macro_rules! pool1d_layer {
    ($(#[$doc:meta])* $name:ident, $label:literal, $check:literal, $size:literal,
     forward: $fw:path, backward: |$g:ident, $x:ident, $dy:ident, $dx:ident| $bw:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq)]
        pub struct $name<
            const C: usize,
            const L: usize,
            const OL: usize,
            const K: usize,
            const S: usize = K,
            const P: usize = 0,
        >;

        impl<const C: usize, const L: usize, const OL: usize, const K: usize, const S: usize, const P: usize>
            $name<C, L, OL, K, S, P>
        {
            const SHAPE_OK: () = {
                let g = Self::UNCHECKED;
                assert!(g.is_valid() && C > 0, $check);
                assert!(OL == g.out_w(), $size);
            };

            const UNCHECKED: Pool2dGeom = Pool2dGeom::pool1d(C, L, K, S, P);

            /// The window geometry (evaluating it checks the output size).
            pub const GEOM: Pool2dGeom = {
                let () = Self::SHAPE_OK;
                Self::UNCHECKED
            };

            /// The layer (checks the sizes).
            pub const fn new() -> Self {
                let () = Self::SHAPE_OK;
                Self
            }
        }

        crate::params::no_params! {
            [const C: usize, const L: usize, const OL: usize, const K: usize, const S: usize,
             const P: usize] $name<C, L, OL, K, S, P>;
        }

        impl<const C: usize, const L: usize, const OL: usize, const K: usize, const S: usize, const P: usize>
            Infer for $name<C, L, OL, K, S, P>
        {
            type Input = [[f32; L]; C];
            type Output = [[f32; OL]; C];

            fn forward(&self, x: &Self::Input, y: &mut Self::Output) {
                $fw(&Self::GEOM, Vector::as_slice(x), Vector::as_mut_slice(y));
            }

            fn forward_flat(&self, x: &[f32], y: &mut [f32]) {
                $fw(&Self::GEOM, x, y);
            }

            fn describe(&self, f: &mut dyn FnMut(LayerDesc)) {
                f(LayerDesc::Other { name: $label, inputs: C * L, outputs: C * OL, params: 0 });
            }
        }

        impl<const C: usize, const L: usize, const OL: usize, const K: usize, const S: usize, const P: usize>
            Layer for $name<C, L, OL, K, S, P>
        {
            type Trace = ();
            type Grads = ();
            const DEFAULT: Self = Self::new();

            fn forward_trace(
                &self,
                _: &mut Ctx<'_>,
                x: &Self::Input,
                _: &mut (),
                y: &mut Self::Output,
            ) {
                self.forward(x, y);
            }

            fn backward(
                &self,
                x: &Self::Input,
                _: &(),
                dy: &Self::Output,
                dx: &mut Self::Input,
                _: &mut (),
            ) {
                let ($g, $x, $dy, $dx) = (
                    &Self::GEOM,
                    Vector::as_slice(x),
                    Vector::as_slice(dy),
                    Vector::as_mut_slice(dx),
                );
                $bw;
            }

            /// Nothing to do: no parameters.
            fn backward_params(&self, _: &Self::Input, _: &(), _: &Self::Output, _: &mut ()) {}
        }

        /// Minibatches sample by sample ([`super::BatchLayer`]).
        impl<const C: usize, const L: usize, const OL: usize, const K: usize, const S: usize, const P: usize>
            super::PerSample for $name<C, L, OL, K, S, P>
        {
        }
    };
}

pool1d_layer!(
    /// 1-D max pooling over `[C][L]` samples, PyTorch's `nn.MaxPool1d(K, stride=S,
    /// padding=P)` (`ceil_mode=False`, dilation 1): `y[c][i]` is the maximum of its window
    /// (padding never wins; ties go to the first maximum, a NaN wins).
    ///
    /// Generics: `C x L` input, `C x OL` output, window `K`, stride `S` (default `K`),
    /// padding `P` (default 0, at most `K / 2`). `OL` must be `(L + 2P - K) / S + 1`;
    /// anything else does not compile.
    ///
    /// ```
    /// use neurite::prelude::*;
    /// let mut y = [[0.0; 2]];
    /// MaxPool1d::<1, 4, 2, 2>::DEFAULT.forward(&[[1.0, 5.0, -1.0, -2.0]], &mut y);
    /// assert_eq!(y, [[5.0, -1.0]]);
    /// ```
    MaxPool1d,
    "maxpool1d",
    "MaxPool1d: zero size, padding above K / 2, or a window larger than the padded input",
    "MaxPool1d: OL must be (L + 2 * P - K) / S + 1",
    forward: pool::maxpool2d_forward,
    backward: |g, x, dy, dx| pool::maxpool2d_backward(g, x, dy, dx)
);

pool1d_layer!(
    /// 1-D average pooling over `[C][L]` samples, PyTorch's `nn.AvgPool1d(K, stride=S,
    /// padding=P)` with its defaults (`ceil_mode=False`, `count_include_pad=True`): the
    /// window's sum over `K`.
    ///
    /// Generics as [`MaxPool1d`]; a wrong output size does not compile.
    ///
    /// ```
    /// use neurite::prelude::*;
    /// let mut y = [[0.0; 2]];
    /// AvgPool1d::<1, 4, 2, 2>::DEFAULT.forward(&[[1.0, 5.0, -1.0, -2.0]], &mut y);
    /// assert_eq!(y, [[3.0, -1.5]]);
    /// ```
    AvgPool1d,
    "avgpool1d",
    "AvgPool1d: zero size, padding above K / 2, or a window larger than the padded input",
    "AvgPool1d: OL must be (L + 2 * P - K) / S + 1",
    forward: pool::avgpool2d_forward,
    backward: |g, _x, dy, dx| pool::avgpool2d_backward(g, dy, dx)
);
