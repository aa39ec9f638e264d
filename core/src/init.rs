//! Weight initialisers of the seed, following `torch.nn.init`.
//!
//! For a weight of `rows x cols` (a dense layer's `OUT x IN`), `fan_in = cols` and
//! `fan_out = rows`, as PyTorch computes them. A convolution weight `[O][C/G][KH][KW]` is
//! `O x (C/G * KH * KW)` with `fan_out = O * KH * KW` (PyTorch multiplies both fans by the
//! kernel's area, the receptive field): see [`Init::fill_kernel`].

use crate::math;
use crate::rng::Rng;

/// Which fan a Kaiming initialiser preserves the variance of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FanMode {
    /// Preserve the variance of the forward pass (PyTorch default).
    FanIn,
    /// Preserve the variance of the backward pass.
    FanOut,
}

/// The non-linearity that follows, for `torch.nn.init.calculate_gain`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Nonlinearity {
    /// Gain 1 (also sigmoid and identity).
    Linear,
    /// Gain 5/3.
    Tanh,
    /// Gain sqrt(2).
    Relu,
    /// Gain sqrt(2 / (1 + slope^2)).
    LeakyRelu(f32),
    /// Gain 3/4.
    Selu,
}

impl Nonlinearity {
    /// `torch.nn.init.calculate_gain`.
    pub fn gain(self) -> f32 {
        match self {
            Self::Linear => 1.0,
            Self::Tanh => 5.0 / 3.0,
            Self::Relu => core::f32::consts::SQRT_2,
            Self::LeakyRelu(a) => math::sqrt(2.0 / (1.0 + a * a)),
            Self::Selu => 0.75,
        }
    }
}

/// One initialisation scheme.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Init {
    /// All zero.
    Zeros,
    /// All equal to the value (the seed's biases at 0.01).
    Constant(f32),
    /// `N(mean, std^2)`.
    Normal {
        /// Mean.
        mean: f32,
        /// Standard deviation.
        std: f32,
    },
    /// `U(low, high)`.
    Uniform {
        /// Lower bound.
        low: f32,
        /// Upper bound.
        high: f32,
    },
    /// Glorot: `U(-a, a)`, `a = gain * sqrt(6 / (fan_in + fan_out))`.
    XavierUniform {
        /// Gain ([`Nonlinearity::gain`]).
        gain: f32,
    },
    /// Glorot: `N(0, std^2)`, `std = gain * sqrt(2 / (fan_in + fan_out))`.
    XavierNormal {
        /// Gain.
        gain: f32,
    },
    /// He: `U(-b, b)`, `b = gain * sqrt(3 / fan)`.
    KaimingUniform {
        /// Fan to use.
        mode: FanMode,
        /// Following non-linearity (gives the gain).
        nonlinearity: Nonlinearity,
    },
    /// He: `N(0, std^2)`, `std = gain / sqrt(fan)`.
    KaimingNormal {
        /// Fan to use.
        mode: FanMode,
        /// Following non-linearity.
        nonlinearity: Nonlinearity,
    },
    /// LeCun: `N(0, 1 / fan_in)` (for SELU).
    LecunNormal,
    /// Orthogonal rows (or columns, whichever are fewer) scaled by `gain`, as
    /// `torch.nn.init.orthogonal_`: Gram-Schmidt on a Gaussian matrix (= QR with a positive
    /// diagonal of R).
    Orthogonal {
        /// Gain.
        gain: f32,
    },
    /// `U(-1/sqrt(fan_in), 1/sqrt(fan_in))`: PyTorch's default for `nn.Linear` weight and bias
    /// (its `kaiming_uniform_(a = sqrt 5)`).
    FanInUniform,
}

impl Init {
    /// Fills `w`, a `rows x cols` row-major matrix (a vector is `rows x 1` or use the fans of
    /// the weight it belongs to), drawing from `rng`.
    pub fn fill(&self, w: &mut [f32], rows: usize, cols: usize, rng: &mut Rng) {
        self.fill_kernel(w, rows, cols, 1, rng);
    }

    /// Fills a convolution weight seen as `rows x cols` (`[O][C/G * KH * KW]`; transposed
    /// convolutions `[C][O/G * KH * KW]`) whose kernel has `receptive = KH * KW` taps:
    /// `fan_in = cols`, `fan_out = rows * receptive` (`_calculate_fan_in_and_fan_out`), and
    /// the orthogonal scheme orthogonalises the `rows` flattened kernels, as PyTorch does.
    pub fn fill_kernel(
        &self,
        w: &mut [f32],
        rows: usize,
        cols: usize,
        receptive: usize,
        rng: &mut Rng,
    ) {
        let fan_in = cols.max(1) as f32;
        let fan_out = (rows * receptive).max(1) as f32;
        let fan = |mode: FanMode| match mode {
            FanMode::FanIn => fan_in,
            FanMode::FanOut => fan_out,
        };
        match *self {
            Self::Zeros => w.fill(0.0),
            Self::Constant(c) => w.fill(c),
            Self::Normal { mean, std } => normal(w, mean, std, rng),
            Self::Uniform { low, high } => uniform(w, low, high, rng),
            Self::XavierUniform { gain } => {
                let a = gain * math::sqrt(6.0 / (fan_in + fan_out));
                uniform(w, -a, a, rng);
            }
            Self::XavierNormal { gain } => {
                normal(w, 0.0, gain * math::sqrt(2.0 / (fan_in + fan_out)), rng);
            }
            Self::KaimingUniform { mode, nonlinearity } => {
                let b = nonlinearity.gain() * math::sqrt(3.0 / fan(mode));
                uniform(w, -b, b, rng);
            }
            Self::KaimingNormal { mode, nonlinearity } => {
                normal(w, 0.0, nonlinearity.gain() / math::sqrt(fan(mode)), rng);
            }
            Self::LecunNormal => normal(w, 0.0, math::sqrt(1.0 / fan_in), rng),
            Self::Orthogonal { gain } => orthogonal(w, rows, cols, gain, rng),
            Self::FanInUniform => {
                let b = 1.0 / math::sqrt(fan_in);
                uniform(w, -b, b, rng);
            }
        }
    }
}

fn normal(w: &mut [f32], mean: f32, std: f32, rng: &mut Rng) {
    for v in w {
        *v = mean + std * rng.normal();
    }
}

fn uniform(w: &mut [f32], low: f32, high: f32, rng: &mut Rng) {
    for v in w {
        *v = rng.uniform_range(low, high);
    }
}

/// In-place modified Gram-Schmidt over the `k = min(rows, cols)` vectors of length
/// `n = max(rows, cols)`: rows when `rows <= cols`, else columns (strided). Each vector is
/// projected out of the earlier ones twice ("twice is enough", Giraud et al. 2005): one pass
/// in f32 loses orthogonality in proportion to the draw's condition number (square draws,
/// measured once with one pass: 6e-5 to 1.9e-3, as the notes in
/// `tests/tests/init_distribution.rs` record), two keep it at rounding level
/// (`orthogonal_rows_columns_and_square` asserts at most 5e-6 per unit of gain squared).
/// A `w` that is not `rows x cols` is left as it is (an empty matrix has nothing to do).
fn orthogonal(w: &mut [f32], rows: usize, cols: usize, gain: f32, rng: &mut Rng) {
    if w.len() != rows * cols {
        return;
    }
    normal(w, 0.0, 1.0, rng);
    let by_rows = rows <= cols;
    let (k, n) = if by_rows { (rows, cols) } else { (cols, rows) };
    // Element `e` of vector `v`.
    let at = |v: usize, e: usize| if by_rows { v * cols + e } else { e * cols + v };
    for v in 0..k {
        for u in (0..v).chain(0..v) {
            let mut d = 0.0;
            for e in 0..n {
                d += w[at(v, e)] * w[at(u, e)];
            }
            for e in 0..n {
                let wu = w[at(u, e)];
                w[at(v, e)] -= d * wu;
            }
        }
        let mut norm2 = 0.0;
        for e in 0..n {
            norm2 += w[at(v, e)] * w[at(v, e)];
        }
        let inv = if norm2 > 0.0 { 1.0 / math::sqrt(norm2) } else { 0.0 };
        for e in 0..n {
            w[at(v, e)] *= inv;
        }
    }
    for x in w {
        *x *= gain;
    }
}

/// Initialisers for a layer's weight and bias. A bias scheme that needs fans uses its
/// weight's.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LayerInit {
    /// Scheme for weights.
    pub weight: Init,
    /// Scheme for biases.
    pub bias: Init,
}

impl LayerInit {
    /// PyTorch's `nn.Linear` default: weight and bias `U(+-1/sqrt(fan_in))`.
    pub const TORCH_DEFAULT: Self = Self { weight: Init::FanInUniform, bias: Init::FanInUniform };

    /// He-uniform weights for ReLU nets, biases at 0.01 (the seed's advice).
    pub const HE_RELU: Self = Self {
        weight: Init::KaimingUniform { mode: FanMode::FanIn, nonlinearity: Nonlinearity::Relu },
        bias: Init::Constant(0.01),
    };

    /// Glorot-uniform weights for sigmoid/tanh nets, zero biases.
    pub const XAVIER: Self = Self { weight: Init::XavierUniform { gain: 1.0 }, bias: Init::Zeros };

    /// Fills a `rows x cols` weight and its `rows` biases.
    pub fn apply(&self, w: &mut [f32], b: &mut [f32], cols: usize, rows: usize, rng: &mut Rng) {
        self.apply_kernel(w, b, cols, rows, 1, rng);
    }

    /// Fills a convolution weight seen as `rows x cols` with `receptive` taps per kernel
    /// (fans as [`Init::fill_kernel`]) and its biases.
    pub fn apply_kernel(
        &self,
        w: &mut [f32],
        b: &mut [f32],
        cols: usize,
        rows: usize,
        receptive: usize,
        rng: &mut Rng,
    ) {
        self.weight.fill_kernel(w, rows, cols, receptive, rng);
        // Orthogonal makes no sense for a vector; fall back to zeros as PyTorch users do.
        match self.bias {
            Init::Orthogonal { .. } => b.fill(0.0),
            other => other.fill_kernel(b, rows, cols, receptive, rng),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moments(w: &[f32]) -> (f32, f32) {
        let n = w.len() as f32;
        let mean = w.iter().sum::<f32>() / n;
        let var = w.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
        (mean, var.sqrt())
    }

    #[test]
    fn schemes_have_their_documented_spread() {
        let (rows, cols) = (200, 300);
        let mut w = [0.0f32; 60_000];
        let mut rng = Rng::new(3);
        let cases: [(Init, f32); 6] = [
            (Init::XavierUniform { gain: 1.0 }, (2.0f32 / 500.0).sqrt()),
            (Init::XavierNormal { gain: 1.0 }, (2.0f32 / 500.0).sqrt()),
            (
                Init::KaimingUniform { mode: FanMode::FanIn, nonlinearity: Nonlinearity::Relu },
                (2.0f32 / 300.0).sqrt(),
            ),
            (
                Init::KaimingNormal { mode: FanMode::FanOut, nonlinearity: Nonlinearity::Relu },
                (2.0f32 / 200.0).sqrt(),
            ),
            (Init::LecunNormal, (1.0f32 / 300.0).sqrt()),
            (Init::Normal { mean: 0.0, std: 0.5 }, 0.5),
        ];
        for (init, want_std) in cases {
            init.fill(&mut w, rows, cols, &mut rng);
            let (mean, std) = moments(&w);
            assert!(mean.abs() < 0.02 * want_std.max(0.1), "{init:?}: mean {mean}");
            assert!((std / want_std - 1.0).abs() < 0.03, "{init:?}: std {std} want {want_std}");
        }
        Init::Constant(0.01).fill(&mut w[..10], 10, 1, &mut rng);
        assert!(w[..10].iter().all(|&v| v == 0.01));
    }

    #[test]
    fn orthogonal_rows_and_columns() {
        for (rows, cols) in [(4usize, 7usize), (7, 4), (5, 5)] {
            let mut w = [0.0f32; 35];
            let w = &mut w[..rows * cols];
            Init::Orthogonal { gain: 2.0 }.fill(w, rows, cols, &mut Rng::new(9));
            let by_rows = rows <= cols;
            let (k, n) = if by_rows { (rows, cols) } else { (cols, rows) };
            let at = |v: usize, e: usize| if by_rows { v * cols + e } else { e * cols + v };
            for a in 0..k {
                for b in 0..k {
                    let d: f32 = (0..n).map(|e| w[at(a, e)] * w[at(b, e)]).sum();
                    let want = if a == b { 4.0 } else { 0.0 };
                    assert!((d - want).abs() < 1e-4, "{rows}x{cols} <{a},{b}> = {d}");
                }
            }
        }
    }
}
