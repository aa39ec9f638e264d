use core::marker::PhantomData;

use super::{Ctx, Infer, Layer};
use crate::activation::{self as act, Activation};
use crate::kernel::elementwise;
use crate::params::Vector;

/// An element-wise activation as a layer over `N` values: `y[i] = f(x[i])`.
///
/// Generics: `A` the function ([`crate::activation`]), `N` the width. No parameters, no
/// trace (backward recomputes from the input). Use the aliases ([`Relu<N>`], [`Tanh<N>`], ...).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Act<A, const N: usize>(pub A);

impl<A: Activation, const N: usize> Act<A, N> {
    /// The layer with activation `a`, for options:
    /// `Act::new(neurite::activation::LeakyRelu { negative_slope: 0.2 })` (the prelude's
    /// `LeakyRelu` is the layer alias; with it in scope, use [`Act::leaky_relu`] and its
    /// siblings).
    pub const fn new(a: A) -> Self {
        Self(a)
    }
}

/// Layers with options, named as the prelude names them:
///
/// ```
/// use neurite::prelude::*;
/// type Model = neurite::Seq![Dense<4, 8>, LeakyRelu<8>, Dense<8, 8>, Elu<8>, Dense<8, 2>];
/// let mut model = Model::DEFAULT;
/// model.1 .0 = LeakyRelu::leaky_relu(0.2);
/// model.1 .1 .1 .0 = Elu::elu(0.5);
/// assert_eq!(model.1 .0 .0.negative_slope, 0.2);
/// ```
impl<const N: usize> Act<act::LeakyRelu, N> {
    /// Leaky ReLU with slope `negative_slope` for negative inputs (PyTorch's default 0.01).
    pub const fn leaky_relu(negative_slope: f32) -> Self {
        Self(act::LeakyRelu { negative_slope })
    }
}

impl<const N: usize> Act<act::Elu, N> {
    /// ELU with `alpha` (PyTorch's default 1).
    pub const fn elu(alpha: f32) -> Self {
        Self(act::Elu { alpha })
    }
}

impl<const N: usize> Act<act::Swish, N> {
    /// Swish `x sigmoid(beta x)` with `beta` (1: SiLU).
    pub const fn swish(beta: f32) -> Self {
        Self(act::Swish { beta })
    }
}

impl<const N: usize> Act<act::Softplus, N> {
    /// Softplus with `beta` and `threshold` (PyTorch's defaults 1 and 20).
    pub const fn softplus(beta: f32, threshold: f32) -> Self {
        Self(act::Softplus { beta, threshold })
    }
}

crate::params::no_params! {
    [A, const N: usize] Act<A, N>;
}

/// Activations whose default options are a constant (all of them).
pub trait ConstDefault {
    /// PyTorch's default options.
    const DEFAULT: Self;
}

macro_rules! const_default {
    ($($t:ty = $v:expr),* $(,)?) => { $(impl ConstDefault for $t { const DEFAULT: Self = $v; })* };
}
const_default!(
    act::Identity = act::Identity,
    act::Step = act::Step,
    act::Sigmoid = act::Sigmoid,
    act::Tanh = act::Tanh,
    act::Relu = act::Relu,
    act::LeakyRelu = act::LeakyRelu { negative_slope: 0.01 },
    act::Softplus = act::Softplus { beta: 1.0, threshold: 20.0 },
    act::Gelu = act::Gelu,
    act::GeluTanh = act::GeluTanh,
    act::Silu = act::Silu,
    act::Swish = act::Swish { beta: 1.0 },
    act::Elu = act::Elu { alpha: 1.0 },
    act::Selu = act::Selu,
);

impl<A: Activation + ConstDefault, const N: usize> Infer for Act<A, N> {
    type Input = [f32; N];
    type Output = [f32; N];

    fn forward(&self, x: &[f32; N], y: &mut [f32; N]) {
        elementwise::forward(&self.0, x, y);
    }
    fn forward_flat(&self, x: &[f32], y: &mut [f32]) {
        elementwise::forward(&self.0, x, y);
    }
    fn describe(&self, f: &mut dyn FnMut(super::LayerDesc)) {
        f(super::LayerDesc::Activation { kind: self.0.kind(), width: N });
    }
}

impl<A: Activation + ConstDefault, const N: usize> Layer for Act<A, N> {
    type Trace = ();
    type Grads = ();
    const DEFAULT: Self = Self(A::DEFAULT);
    fn forward_trace(&self, _: &mut Ctx<'_>, x: &[f32; N], _: &mut (), y: &mut [f32; N]) {
        elementwise::forward(&self.0, x, y);
    }
    fn backward(&self, x: &[f32; N], _: &(), dy: &[f32; N], dx: &mut [f32; N], _: &mut ()) {
        elementwise::backward(&self.0, x, dy, dx);
    }
}

/// An element-wise activation over a shaped sample `V` (an image `[[[f32; W]; H]; C]`, a
/// sequence `[[f32; L]; C]` or a row `[f32; N]`): [`Act`] over all of `V`'s values.
///
/// ```
/// use neurite::prelude::*;
/// let relu = ActOn::<neurite::activation::Relu, [[[f32; 2]; 1]; 2]>::DEFAULT;
/// let mut y = [[[0.0; 2]; 1]; 2];
/// relu.forward(&[[[-1.0, 2.0]], [[3.0, -4.0]]], &mut y);
/// assert_eq!(y, [[[0.0, 2.0]], [[3.0, 0.0]]]);
/// ```
pub struct ActOn<A, V>(pub A, PhantomData<fn(V) -> V>);

impl<A: Activation, V: Vector> ActOn<A, V> {
    /// The layer with activation `a`.
    pub const fn new(a: A) -> Self {
        Self(a, PhantomData)
    }
}

impl<A: Clone, V> Clone for ActOn<A, V> {
    fn clone(&self) -> Self {
        Self(self.0.clone(), PhantomData)
    }
}

impl<A: Copy, V> Copy for ActOn<A, V> {}

impl<A: PartialEq, V> PartialEq for ActOn<A, V> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl<A: core::fmt::Debug, V> core::fmt::Debug for ActOn<A, V> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("ActOn").field(&self.0).finish()
    }
}

crate::params::no_params! {
    [A, V] ActOn<A, V>;
}

impl<A: Activation + ConstDefault, V: Vector> Infer for ActOn<A, V> {
    type Input = V;
    type Output = V;

    fn forward(&self, x: &V, y: &mut V) {
        elementwise::forward(&self.0, x.as_slice(), y.as_mut_slice());
    }
    fn forward_flat(&self, x: &[f32], y: &mut [f32]) {
        elementwise::forward(&self.0, x, y);
    }
    /// The activation over all `V::LEN` values (as [`Act`]).
    fn describe(&self, f: &mut dyn FnMut(super::LayerDesc)) {
        f(super::LayerDesc::Activation { kind: self.0.kind(), width: V::LEN });
    }
}

impl<A: Activation + ConstDefault, V: Vector> Layer for ActOn<A, V> {
    type Trace = ();
    type Grads = ();
    const DEFAULT: Self = Self::new(A::DEFAULT);
    fn forward_trace(&self, _: &mut Ctx<'_>, x: &V, _: &mut (), y: &mut V) {
        self.forward(x, y);
    }
    fn backward(&self, x: &V, _: &(), dy: &V, dx: &mut V, _: &mut ()) {
        elementwise::backward(&self.0, x.as_slice(), dy.as_slice(), dx.as_mut_slice());
    }
    /// Nothing to do: no parameters.
    fn backward_params(&self, _: &V, _: &(), _: &V, _: &mut ()) {}
}

/// Identity (linear) over `N` values.
pub type Identity<const N: usize> = Act<act::Identity, N>;
/// Heaviside step over `N` values (the perceptron's activation).
pub type Step<const N: usize> = Act<act::Step, N>;
/// Sigmoid over `N` values.
pub type Sigmoid<const N: usize> = Act<act::Sigmoid, N>;
/// Tanh over `N` values.
pub type Tanh<const N: usize> = Act<act::Tanh, N>;
/// ReLU over `N` values.
pub type Relu<const N: usize> = Act<act::Relu, N>;
/// Leaky ReLU over `N` values.
pub type LeakyRelu<const N: usize> = Act<act::LeakyRelu, N>;
/// Softplus over `N` values.
pub type Softplus<const N: usize> = Act<act::Softplus, N>;
/// Exact (erf) GELU over `N` values.
pub type Gelu<const N: usize> = Act<act::Gelu, N>;
/// Tanh-approximated GELU over `N` values.
pub type GeluTanh<const N: usize> = Act<act::GeluTanh, N>;
/// SiLU over `N` values.
pub type Silu<const N: usize> = Act<act::Silu, N>;
/// Swish(beta) over `N` values.
pub type Swish<const N: usize> = Act<act::Swish, N>;
/// ELU over `N` values.
pub type Elu<const N: usize> = Act<act::Elu, N>;
/// SELU over `N` values.
pub type Selu<const N: usize> = Act<act::Selu, N>;

/// Minibatches sample by sample ([`super::BatchLayer`]).
impl<A: Activation + ConstDefault, const N: usize> super::PerSample for Act<A, N> {}

/// Minibatches sample by sample ([`super::BatchLayer`]).
impl<A: Activation + ConstDefault, V: Vector> super::PerSample for ActOn<A, V> {}
