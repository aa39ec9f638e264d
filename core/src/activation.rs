//! Element-wise activation functions of the seed, each with its derivative.
//!
//! Each is a small `Copy` type (zero-sized where it has no option) implementing
//! [`Activation`]. Derivatives at kinks follow PyTorch's autograd: `relu'(0) = 0`,
//! `leaky_relu'(0) = negative_slope`, `elu'(0) = alpha`, `step' = 0` everywhere.
//!
//! [`ActivationKind`] names one activation at run time (the host's dynamic models, model
//! files); it dispatches to the same types, so both front ends compute identical values.

use crate::math;

/// An element-wise function `f` with its derivative `f'`, both evaluated at the input.
pub trait Activation: Copy {
    /// `f(x)`.
    fn f(&self, x: f32) -> f32;
    /// `f'(x)`, the derivative at the input `x`.
    fn df(&self, x: f32) -> f32;
    /// The run-time name of this activation with its options.
    fn kind(&self) -> ActivationKind;
}

/// Identity (linear): `f(x) = x`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Identity;

/// Heaviside step (the perceptron's activation): `f(x) = 1` if `x > 0`, else 0
/// (`torch.heaviside(x, 0)`). Its derivative is 0 wherever it exists; train step networks with
/// the perceptron rule ([`crate::perceptron`]), not gradients.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Step;

/// Logistic sigmoid: `f(x) = 1 / (1 + e^-x)`, `f' = f (1 - f)`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sigmoid;

/// Hyperbolic tangent: `f' = 1 - tanh^2`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Tanh;

/// Rectified linear unit: `max(0, x)`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Relu;

/// Leaky ReLU: `x` if `x > 0`, else `negative_slope * x` (PyTorch default slope 0.01).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeakyRelu {
    /// Slope for negative inputs.
    pub negative_slope: f32,
}

/// Softplus: `ln(1 + e^{beta x}) / beta`, and `x` where `beta x > threshold`
/// (PyTorch defaults beta 1, threshold 20).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Softplus {
    /// Sharpness.
    pub beta: f32,
    /// Above `beta * x > threshold` the function is linear.
    pub threshold: f32,
}

/// GELU, exact: `x * Phi(x) = x/2 (1 + erf(x / sqrt 2))`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Gelu;

/// GELU, tanh approximation: `x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`
/// (`approximate="tanh"`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GeluTanh;

/// SiLU: `x * sigmoid(x)`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Silu;

/// Swish with a fixed `beta`: `x * sigmoid(beta x)` (SiLU is beta = 1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Swish {
    /// Sharpness.
    pub beta: f32,
}

/// ELU: `x` if `x > 0`, else `alpha (e^x - 1)` (PyTorch default alpha 1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Elu {
    /// Saturation value for large negative inputs is `-alpha`.
    pub alpha: f32,
}

/// SELU: `scale * elu(x, alpha)` with PyTorch's constants.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Selu;

/// SELU's alpha (Klambauer et al. 2017, as in PyTorch).
pub const SELU_ALPHA: f32 = 1.673_263_2;
/// SELU's scale.
pub const SELU_SCALE: f32 = 1.050_701;

impl Default for LeakyRelu {
    fn default() -> Self {
        Self { negative_slope: 0.01 }
    }
}
impl Default for Softplus {
    fn default() -> Self {
        Self { beta: 1.0, threshold: 20.0 }
    }
}
impl Default for Swish {
    fn default() -> Self {
        Self { beta: 1.0 }
    }
}
impl Default for Elu {
    fn default() -> Self {
        Self { alpha: 1.0 }
    }
}

impl Activation for Identity {
    fn kind(&self) -> ActivationKind {
        ActivationKind::Identity
    }
    #[inline]
    fn f(&self, x: f32) -> f32 {
        x
    }
    #[inline]
    fn df(&self, _: f32) -> f32 {
        1.0
    }
}

impl Activation for Step {
    fn kind(&self) -> ActivationKind {
        ActivationKind::Step
    }
    #[inline]
    fn f(&self, x: f32) -> f32 {
        if x > 0.0 {
            1.0
        } else {
            0.0
        }
    }
    #[inline]
    fn df(&self, _: f32) -> f32 {
        0.0
    }
}

impl Activation for Sigmoid {
    fn kind(&self) -> ActivationKind {
        ActivationKind::Sigmoid
    }
    #[inline]
    fn f(&self, x: f32) -> f32 {
        math::sigmoid(x)
    }
    #[inline]
    fn df(&self, x: f32) -> f32 {
        let s = math::sigmoid(x);
        s * (1.0 - s)
    }
}

impl Activation for Tanh {
    fn kind(&self) -> ActivationKind {
        ActivationKind::Tanh
    }
    #[inline]
    fn f(&self, x: f32) -> f32 {
        math::tanh(x)
    }
    #[inline]
    fn df(&self, x: f32) -> f32 {
        let t = math::tanh(x);
        1.0 - t * t
    }
}

impl Activation for Relu {
    fn kind(&self) -> ActivationKind {
        ActivationKind::Relu
    }
    /// PyTorch's `clamp_min(x, 0)`: `-0.0` and NaN pass through unchanged.
    #[inline]
    fn f(&self, x: f32) -> f32 {
        if x < 0.0 {
            0.0
        } else {
            x
        }
    }
    /// PyTorch's `threshold_backward`: 0 where `x <= 0`, else 1 (NaN included).
    #[inline]
    fn df(&self, x: f32) -> f32 {
        if x <= 0.0 {
            0.0
        } else {
            1.0
        }
    }
}

impl Activation for LeakyRelu {
    fn kind(&self) -> ActivationKind {
        ActivationKind::LeakyRelu(self.negative_slope)
    }
    #[inline]
    fn f(&self, x: f32) -> f32 {
        if x > 0.0 {
            x
        } else {
            x * self.negative_slope
        }
    }
    #[inline]
    fn df(&self, x: f32) -> f32 {
        if x > 0.0 {
            1.0
        } else {
            self.negative_slope
        }
    }
}

impl Activation for Softplus {
    fn kind(&self) -> ActivationKind {
        ActivationKind::Softplus(self.beta, self.threshold)
    }
    #[inline]
    fn f(&self, x: f32) -> f32 {
        let bx = x * self.beta;
        if bx > self.threshold {
            x
        } else {
            math::ln_1p(math::exp(bx)) / self.beta
        }
    }
    #[inline]
    fn df(&self, x: f32) -> f32 {
        let bx = x * self.beta;
        if bx > self.threshold {
            1.0
        } else {
            let z = math::exp(bx);
            z / (z + 1.0)
        }
    }
}

const FRAC_1_SQRT_2: f32 = core::f32::consts::FRAC_1_SQRT_2;
/// 1 / sqrt(2 pi).
const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;
/// sqrt(2 / pi).
const SQRT_2_OVER_PI: f32 = 0.797_884_6;
const GELU_TANH_COEF: f32 = 0.044_715;

impl Activation for Gelu {
    fn kind(&self) -> ActivationKind {
        ActivationKind::Gelu
    }
    #[inline]
    fn f(&self, x: f32) -> f32 {
        0.5 * x * (1.0 + math::erf(x * FRAC_1_SQRT_2))
    }
    #[inline]
    fn df(&self, x: f32) -> f32 {
        let cdf = 0.5 * (1.0 + math::erf(x * FRAC_1_SQRT_2));
        let pdf = math::exp(-0.5 * x * x) * FRAC_1_SQRT_2PI;
        cdf + x * pdf
    }
}

impl Activation for GeluTanh {
    fn kind(&self) -> ActivationKind {
        ActivationKind::GeluTanh
    }
    #[inline]
    fn f(&self, x: f32) -> f32 {
        let inner = SQRT_2_OVER_PI * (x + GELU_TANH_COEF * x * x * x);
        0.5 * x * (1.0 + math::tanh(inner))
    }
    #[inline]
    fn df(&self, x: f32) -> f32 {
        let x2 = x * x;
        let inner = SQRT_2_OVER_PI * (x + GELU_TANH_COEF * x2 * x);
        let t = math::tanh(inner);
        let d_inner = SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_TANH_COEF * x2);
        0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * d_inner
    }
}

impl Activation for Silu {
    fn kind(&self) -> ActivationKind {
        ActivationKind::Silu
    }
    #[inline]
    fn f(&self, x: f32) -> f32 {
        x * math::sigmoid(x)
    }
    #[inline]
    fn df(&self, x: f32) -> f32 {
        let s = math::sigmoid(x);
        s * (1.0 + x * (1.0 - s))
    }
}

impl Activation for Swish {
    fn kind(&self) -> ActivationKind {
        ActivationKind::Swish(self.beta)
    }
    #[inline]
    fn f(&self, x: f32) -> f32 {
        x * math::sigmoid(self.beta * x)
    }
    #[inline]
    fn df(&self, x: f32) -> f32 {
        let s = math::sigmoid(self.beta * x);
        s + self.beta * x * s * (1.0 - s)
    }
}

impl Activation for Elu {
    fn kind(&self) -> ActivationKind {
        ActivationKind::Elu(self.alpha)
    }
    /// Zeros pass through with their sign, as PyTorch's (`elu(-0.) = -0.` for any alpha).
    #[inline]
    fn f(&self, x: f32) -> f32 {
        if x >= 0.0 {
            x
        } else {
            self.alpha * math::exp_m1(x)
        }
    }
    /// PyTorch's `elu_backward`: `alpha e^x` where `x <= 0`, else 1 (NaN included).
    #[inline]
    fn df(&self, x: f32) -> f32 {
        if x <= 0.0 {
            self.alpha * math::exp(x)
        } else {
            1.0
        }
    }
}

impl Activation for Selu {
    fn kind(&self) -> ActivationKind {
        ActivationKind::Selu
    }
    #[inline]
    fn f(&self, x: f32) -> f32 {
        if x > 0.0 {
            SELU_SCALE * x
        } else {
            SELU_SCALE * SELU_ALPHA * math::exp_m1(x)
        }
    }
    /// As [`Elu`]'s: the negative branch where `x <= 0`, else the scale (NaN included).
    #[inline]
    fn df(&self, x: f32) -> f32 {
        if x <= 0.0 {
            SELU_SCALE * SELU_ALPHA * math::exp(x)
        } else {
            SELU_SCALE
        }
    }
}

/// The value of an activation's option in a model file: a number or a word.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ActivationOption {
    /// A number (`negative_slope`, `alpha`, `beta`, `threshold`).
    Num(f32),
    /// A word (`approximate`: `"tanh"`).
    Word(&'static str),
}

/// One element-wise activation named at run time, with its options.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ActivationKind {
    /// [`Identity`].
    Identity,
    /// [`Step`].
    Step,
    /// [`Sigmoid`].
    Sigmoid,
    /// [`Tanh`].
    Tanh,
    /// [`Relu`].
    Relu,
    /// [`LeakyRelu`] with its negative slope.
    LeakyRelu(f32),
    /// [`Softplus`] with beta and threshold.
    Softplus(f32, f32),
    /// [`Gelu`].
    Gelu,
    /// [`GeluTanh`].
    GeluTanh,
    /// [`Silu`].
    Silu,
    /// [`Swish`] with beta.
    Swish(f32),
    /// [`Elu`] with alpha.
    Elu(f32),
    /// [`Selu`].
    Selu,
}

impl ActivationKind {
    /// `(code, a, b)`: a stable number for the model file and up to two options.
    pub fn encode(&self) -> (u8, f32, f32) {
        match *self {
            Self::Identity => (0, 0.0, 0.0),
            Self::Step => (1, 0.0, 0.0),
            Self::Sigmoid => (2, 0.0, 0.0),
            Self::Tanh => (3, 0.0, 0.0),
            Self::Relu => (4, 0.0, 0.0),
            Self::LeakyRelu(s) => (5, s, 0.0),
            Self::Softplus(beta, threshold) => (6, beta, threshold),
            Self::Gelu => (7, 0.0, 0.0),
            Self::GeluTanh => (8, 0.0, 0.0),
            Self::Silu => (9, 0.0, 0.0),
            Self::Swish(beta) => (10, beta, 0.0),
            Self::Elu(alpha) => (11, alpha, 0.0),
            Self::Selu => (12, 0.0, 0.0),
        }
    }

    /// The activation for a code of [`ActivationKind::encode`]; `None` for an unknown code.
    pub fn decode(code: u8, a: f32, b: f32) -> Option<Self> {
        Some(match code {
            0 => Self::Identity,
            1 => Self::Step,
            2 => Self::Sigmoid,
            3 => Self::Tanh,
            4 => Self::Relu,
            5 => Self::LeakyRelu(a),
            6 => Self::Softplus(a, b),
            7 => Self::Gelu,
            8 => Self::GeluTanh,
            9 => Self::Silu,
            10 => Self::Swish(a),
            11 => Self::Elu(a),
            12 => Self::Selu,
            _ => return None,
        })
    }

    /// The layer's name in version-2 model files and in the CLI's layer specs (the host's
    /// registry takes its activation names from here).
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Identity => "identity",
            Self::Step => "step",
            Self::Sigmoid => "sigmoid",
            Self::Tanh => "tanh",
            Self::Relu => "relu",
            Self::LeakyRelu(_) => "leaky_relu",
            Self::Softplus(..) => "softplus",
            Self::Gelu | Self::GeluTanh => "gelu",
            Self::Silu => "silu",
            Self::Swish(_) => "swish",
            Self::Elu(_) => "elu",
            Self::Selu => "selu",
        }
    }

    /// The options that, with [`ActivationKind::name`], name this activation, as a model
    /// file records them (PyTorch's keyword names): `leaky_relu` its `negative_slope`,
    /// `softplus` `beta` and `threshold`, `gelu(tanh)` `approximate = "tanh"`, ...
    pub fn options(&self) -> impl Iterator<Item = (&'static str, ActivationOption)> {
        use ActivationOption::{Num, Word};
        let (first, second) = match *self {
            Self::LeakyRelu(s) => (Some(("negative_slope", Num(s))), None),
            Self::Elu(a) => (Some(("alpha", Num(a))), None),
            Self::Swish(b) => (Some(("beta", Num(b))), None),
            Self::Softplus(b, t) => (Some(("beta", Num(b))), Some(("threshold", Num(t)))),
            Self::GeluTanh => (Some(("approximate", Word("tanh"))), None),
            _ => (None, None),
        };
        first.into_iter().chain(second)
    }

    /// `y = f(x)` element-wise, through the same kernel as the const-generic layers.
    pub fn forward(&self, x: &[f32], y: &mut [f32]) {
        use crate::kernel::elementwise::forward as fw;
        match *self {
            Self::Identity => fw(&Identity, x, y),
            Self::Step => fw(&Step, x, y),
            Self::Sigmoid => fw(&Sigmoid, x, y),
            Self::Tanh => fw(&Tanh, x, y),
            Self::Relu => fw(&Relu, x, y),
            Self::LeakyRelu(negative_slope) => fw(&LeakyRelu { negative_slope }, x, y),
            Self::Softplus(beta, threshold) => fw(&Softplus { beta, threshold }, x, y),
            Self::Gelu => fw(&Gelu, x, y),
            Self::GeluTanh => fw(&GeluTanh, x, y),
            Self::Silu => fw(&Silu, x, y),
            Self::Swish(beta) => fw(&Swish { beta }, x, y),
            Self::Elu(alpha) => fw(&Elu { alpha }, x, y),
            Self::Selu => fw(&Selu, x, y),
        }
    }

    /// `dx = f'(x) * dy` element-wise.
    pub fn backward(&self, x: &[f32], dy: &[f32], dx: &mut [f32]) {
        use crate::kernel::elementwise::backward as bw;
        match *self {
            Self::Identity => bw(&Identity, x, dy, dx),
            Self::Step => bw(&Step, x, dy, dx),
            Self::Sigmoid => bw(&Sigmoid, x, dy, dx),
            Self::Tanh => bw(&Tanh, x, dy, dx),
            Self::Relu => bw(&Relu, x, dy, dx),
            Self::LeakyRelu(negative_slope) => bw(&LeakyRelu { negative_slope }, x, dy, dx),
            Self::Softplus(beta, threshold) => bw(&Softplus { beta, threshold }, x, dy, dx),
            Self::Gelu => bw(&Gelu, x, dy, dx),
            Self::GeluTanh => bw(&GeluTanh, x, dy, dx),
            Self::Silu => bw(&Silu, x, dy, dx),
            Self::Swish(beta) => bw(&Swish { beta }, x, dy, dx),
            Self::Elu(alpha) => bw(&Elu { alpha }, x, dy, dx),
            Self::Selu => bw(&Selu, x, dy, dx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of each kind, the options away from PyTorch's defaults.
    const EVERY_KIND: [ActivationKind; 13] = [
        ActivationKind::Identity,
        ActivationKind::Step,
        ActivationKind::Sigmoid,
        ActivationKind::Tanh,
        ActivationKind::Relu,
        ActivationKind::LeakyRelu(0.2),
        ActivationKind::Softplus(2.0, 10.0),
        ActivationKind::Gelu,
        ActivationKind::GeluTanh,
        ActivationKind::Silu,
        ActivationKind::Swish(1.5),
        ActivationKind::Elu(0.5),
        ActivationKind::Selu,
    ];

    #[test]
    fn kink_conventions_match_pytorch() {
        assert_eq!(Relu.df(0.0), 0.0);
        assert_eq!(LeakyRelu { negative_slope: 0.1 }.df(0.0), 0.1);
        assert_eq!(Elu { alpha: 2.0 }.df(0.0), 2.0);
        assert_eq!(Selu.df(0.0), SELU_SCALE * SELU_ALPHA);
        assert_eq!(Step.f(0.0), 0.0);
        assert_eq!(Step.f(1e-30), 1.0);
        assert_eq!(Softplus { beta: 1.0, threshold: 20.0 }.f(30.0), 30.0);
        // at `beta x == threshold` PyTorch takes the log1p branch (its test is `>`)
        let at_threshold = Softplus { beta: 1.0, threshold: 1.0 };
        assert_eq!(at_threshold.f(1.0), math::ln_1p(math::exp(1.0)));
        let e = math::exp(1.0);
        assert_eq!(at_threshold.df(1.0), e / (e + 1.0));
    }

    /// A NaN input gives what PyTorch 2.15 gives: NaN out of every activation but the step
    /// (`torch.heaviside(nan, 0) = 0`), and as the derivative NaN for the smooth ones, the
    /// positive branch's slope for the piecewise ones (relu 1, leaky_relu 1, elu 1, selu its
    /// scale; leaky_relu: its negative slope, PyTorch's test being `x > 0`).
    #[test]
    fn nan_propagates_as_in_pytorch() {
        let nan = f32::NAN;
        for kind in EVERY_KIND {
            let (mut y, mut dx) = ([0.0f32], [0.0f32]);
            kind.forward(&[nan], &mut y);
            kind.backward(&[nan], &[1.0], &mut dx);
            let (want_y, want_dx) = match kind {
                ActivationKind::Step => (0.0, 0.0),
                ActivationKind::Identity | ActivationKind::Relu | ActivationKind::Elu(_) => {
                    (nan, 1.0)
                }
                ActivationKind::LeakyRelu(s) => (nan, s),
                ActivationKind::Selu => (nan, SELU_SCALE),
                _ => (nan, nan),
            };
            let same = |a: f32, b: f32| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
            assert!(same(y[0], want_y), "{}: f(nan) = {}", kind.name(), y[0]);
            assert!(same(dx[0], want_dx), "{}: f'(nan) = {}", kind.name(), dx[0]);
        }
    }

    /// Signed zeros and NaN as PyTorch gives them (torch 2.15: `relu(-0.) = -0.`,
    /// `relu(nan) = nan`, relu's gradient at nan is 1; `leaky_relu(-0., -0.1) = 0.`).
    #[test]
    fn signed_zero_and_nan_match_pytorch() {
        let bits = |v: f32| v.to_bits();
        assert_eq!(bits(Relu.f(-0.0)), bits(-0.0));
        assert_eq!(bits(Relu.f(0.0)), bits(0.0));
        assert!(Relu.f(f32::NAN).is_nan());
        assert_eq!(Relu.df(f32::NAN), 1.0);
        assert_eq!(Relu.df(-0.0), 0.0);
        let negative = LeakyRelu { negative_slope: -0.1 };
        assert_eq!(bits(negative.f(-0.0)), bits(0.0));
        assert_eq!(bits(LeakyRelu { negative_slope: 0.1 }.f(-0.0)), bits(-0.0));
        // torch 2.15: elu(-0.) = -0. whatever alpha's sign; selu(-0.) = -0.
        for alpha in [-2.0, -1.0, 0.5, 1.0] {
            assert_eq!(bits(Elu { alpha }.f(-0.0)), bits(-0.0), "alpha {alpha}");
            assert_eq!(bits(Elu { alpha }.f(0.0)), bits(0.0), "alpha {alpha}");
        }
        assert_eq!(bits(Selu.f(-0.0)), bits(-0.0));
    }

    /// The version-1 model file's activation codes: every kind decodes to itself.
    #[test]
    fn every_activation_code_decodes_to_its_kind() {
        let mut codes = [false; EVERY_KIND.len()];
        for kind in EVERY_KIND {
            let (code, a, b) = kind.encode();
            assert_eq!(ActivationKind::decode(code, a, b), Some(kind));
            assert!(!core::mem::replace(&mut codes[usize::from(code)], true), "code {code} twice");
        }
        assert_eq!(ActivationKind::decode(13, 0.0, 0.0), None);
    }

    #[test]
    fn kind_dispatch_matches_direct_call() {
        let x = [-2.0, -0.5, 0.0, 0.3, 4.0];
        let mut y = [0.0; 5];
        ActivationKind::Swish(1.5).forward(&x, &mut y);
        for (a, &b) in y.iter().zip(&x) {
            assert_eq!(a.to_bits(), Swish { beta: 1.5 }.f(b).to_bits());
        }
    }
}
