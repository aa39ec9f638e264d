//! The initialisers of `neurite::init` against `torch.nn.init`: every scheme's distribution
//! (mean, variance, shape, hard bounds), its gain per non-linearity
//! (`torch.nn.init.calculate_gain`), the fans PyTorch computes for a dense weight
//! `[out][in]` and a convolution weight `[out][in / groups][kh][kw]`, orthogonality, and the
//! `LayerInit` presets on real layers.
//!
//! Statistical bounds are derived from the sample size `n` (65 536 values or more per case):
//! 5 standard errors for the mean (`sigma / sqrt n`), the variance (`sigma^2 sqrt(2 / n)` for
//! a normal, `sigma^2 sqrt(0.8 / n)` for a uniform), a normal's kurtosis (`sqrt(24 / n)`) and
//! its share within one standard deviation; a uniform's extremes must lie within
//! `20 (high - low) / n` of its bounds (missed with probability `e^-20`). The seeds are
//! fixed, so the tests are deterministic; the margins say how far from the edge they pass.

use neurite::init::{FanMode, Init, LayerInit, Nonlinearity};
use neurite::layer::{Conv1d, Conv2d, ConvTranspose2d, Dense, Layer};
use neurite::prelude::Rng;

/// A dense weight `[ROWS][COLS]`: fan_out = ROWS, fan_in = COLS (as `nn.Linear(COLS, ROWS)`),
/// different enough that a fan mix-up moves the variance 4x.
const ROWS: usize = 128;
const COLS: usize = 512;
const N_SIGMA: f64 = 5.0;

/// `torch.nn.init.calculate_gain` for each non-linearity, in f64.
fn torch_gain(nl: Nonlinearity) -> f64 {
    match nl {
        Nonlinearity::Linear => 1.0,
        Nonlinearity::Tanh => 5.0 / 3.0,
        Nonlinearity::Relu => 2f64.sqrt(),
        Nonlinearity::LeakyRelu(a) => (2.0 / (1.0 + f64::from(a) * f64::from(a))).sqrt(),
        Nonlinearity::Selu => 0.75,
    }
}

/// Every non-linearity, leaky ReLU with PyTorch's default slope and a wide one (whose gain is
/// far enough from ReLU's to show in a variance).
const NONLINEARITIES: [Nonlinearity; 6] = [
    Nonlinearity::Linear,
    Nonlinearity::Tanh,
    Nonlinearity::Relu,
    Nonlinearity::LeakyRelu(0.01),
    Nonlinearity::LeakyRelu(0.5),
    Nonlinearity::Selu,
];

fn draw(init: Init, rows: usize, cols: usize, seed: u64) -> Vec<f32> {
    let mut w = vec![f32::NAN; rows * cols];
    init.fill(&mut w, rows, cols, &mut Rng::new(seed));
    w
}

/// Sample moments in f64.
struct Moments {
    n: f64,
    mean: f64,
    var: f64,
    kurtosis: f64,
    min: f64,
    max: f64,
}

fn moments(w: &[f32]) -> Moments {
    assert!(w.iter().all(|v| v.is_finite()), "a value is not finite");
    let n = w.len() as f64;
    let mean = w.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let central = |p: i32| w.iter().map(|&v| (f64::from(v) - mean).powi(p)).sum::<f64>() / n;
    let var = central(2);
    let min = w.iter().fold(f64::INFINITY, |m, &v| m.min(f64::from(v)));
    let max = w.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(f64::from(v)));
    Moments { n, mean, var, kurtosis: central(4) / (var * var), min, max }
}

/// `|got - want| <= N_SIGMA * se`, with the margin in standard errors in the message.
fn within(what: &str, stat: &str, got: f64, want: f64, se: f64) {
    let z = (got - want) / se;
    assert!(
        z.abs() <= N_SIGMA,
        "{what}: {stat} {got:.6e}, expected {want:.6e} (off by {z:.1} standard errors)"
    );
}

/// `w` is a sample of `N(mean, std^2)`.
fn assert_normal(what: &str, w: &[f32], mean: f64, std: f64) {
    let m = moments(w);
    let n = m.n;
    within(what, "mean", m.mean, mean, std / n.sqrt());
    within(what, "variance", m.var, std * std, std * std * (2.0 / (n - 1.0)).sqrt());
    within(what, "kurtosis", m.kurtosis, 3.0, (24.0 / n).sqrt());
    let p = 0.682_689_492_137_086; // P(|z| <= 1)
    let inside = w.iter().filter(|&&v| (f64::from(v) - mean).abs() <= std).count() as f64 / n;
    within(what, "share within one std", inside, p, (p * (1.0 - p) / n).sqrt());
}

/// `w` is a sample of `U(low, high)`: every value inside (up to the f32 rounding of the bound
/// the core computes), the extremes near the bounds, mean and variance.
fn assert_uniform(what: &str, w: &[f32], low: f64, high: f64) {
    let m = moments(w);
    let n = m.n;
    let width = high - low;
    let slack = 1e-6 * low.abs().max(high.abs());
    assert!(
        m.min >= low - slack && m.max <= high + slack,
        "{what}: values in [{}, {}], outside [{low}, {high}]",
        m.min,
        m.max
    );
    let gap = 20.0 * width / n;
    assert!(m.max >= high - gap, "{what}: max {} is {gap:e} or more below {high}", m.max);
    assert!(m.min <= low + gap, "{what}: min {} is {gap:e} or more above {low}", m.min);
    let var = width * width / 12.0;
    within(what, "mean", m.mean, 0.5 * (low + high), (var / n).sqrt());
    within(what, "variance", m.var, var, var * (0.8 / n).sqrt());
}

#[test]
fn gains_are_torch_calculate_gain() {
    for nl in NONLINEARITIES.into_iter().chain([Nonlinearity::LeakyRelu(0.2)]) {
        let (got, want) = (f64::from(nl.gain()), torch_gain(nl));
        assert!((got - want).abs() <= 2.0 * f64::from(f32::EPSILON) * want, "{nl:?}: {got}");
    }
}

#[test]
fn zeros_and_constant_are_exact() {
    assert!(draw(Init::Zeros, ROWS, COLS, 1).iter().all(|&v| v.to_bits() == 0));
    for c in [0.01f32, -2.5, 0.0] {
        assert!(draw(Init::Constant(c), ROWS, COLS, 1).iter().all(|&v| v.to_bits() == c.to_bits()));
    }
}

#[test]
fn normal_and_uniform() {
    for (k, (mean, std)) in [(0.0f32, 1.0f32), (0.3, 0.05), (-2.0, 3.0)].into_iter().enumerate() {
        let w = draw(Init::Normal { mean, std }, ROWS, COLS, 10 + k as u64);
        assert_normal(&format!("N({mean}, {std}^2)"), &w, mean.into(), std.into());
    }
    for (k, (low, high)) in [(-0.05f32, 0.05f32), (0.0, 1.0), (-3.0, -1.0)].into_iter().enumerate()
    {
        let w = draw(Init::Uniform { low, high }, ROWS, COLS, 20 + k as u64);
        assert_uniform(&format!("U({low}, {high})"), &w, low.into(), high.into());
    }
}

#[test]
fn xavier_uniform_and_normal_use_both_fans() {
    let fans = (COLS + ROWS) as f64;
    for (k, nl) in NONLINEARITIES.into_iter().enumerate() {
        let gain = nl.gain();
        let g = torch_gain(nl);
        let w = draw(Init::XavierUniform { gain }, ROWS, COLS, 30 + k as u64);
        let a = g * (6.0 / fans).sqrt();
        assert_uniform(&format!("xavier_uniform gain {g}"), &w, -a, a);
        let w = draw(Init::XavierNormal { gain }, ROWS, COLS, 40 + k as u64);
        assert_normal(&format!("xavier_normal gain {g}"), &w, 0.0, g * (2.0 / fans).sqrt());
    }
}

#[test]
fn kaiming_every_mode_and_nonlinearity() {
    let mut seed = 50;
    for mode in [FanMode::FanIn, FanMode::FanOut] {
        // PyTorch: fan_in = weight.size(1), fan_out = weight.size(0) for a [out][in] weight.
        let fan = match mode {
            FanMode::FanIn => COLS,
            FanMode::FanOut => ROWS,
        } as f64;
        for nonlinearity in NONLINEARITIES {
            let g = torch_gain(nonlinearity);
            let what = format!("kaiming {mode:?} {nonlinearity:?}");
            seed += 1;
            let w = draw(Init::KaimingUniform { mode, nonlinearity }, ROWS, COLS, seed);
            let b = g * (3.0 / fan).sqrt();
            assert_uniform(&format!("{what} uniform"), &w, -b, b);
            seed += 1;
            let w = draw(Init::KaimingNormal { mode, nonlinearity }, ROWS, COLS, seed);
            assert_normal(&format!("{what} normal"), &w, 0.0, g / fan.sqrt());
        }
    }
}

#[test]
fn lecun_normal_and_fan_in_uniform() {
    let w = draw(Init::LecunNormal, ROWS, COLS, 70);
    assert_normal("lecun_normal", &w, 0.0, (1.0 / COLS as f64).sqrt());
    let w = draw(Init::FanInUniform, ROWS, COLS, 71);
    let b = 1.0 / (COLS as f64).sqrt();
    assert_uniform("fan_in uniform (nn.Linear default)", &w, -b, b);
}

/// `M M^T` for the `k` vectors of length `n` of a `rows x cols` row-major matrix: its rows
/// when `rows <= cols`, else its columns (`W^T W`), in f64.
fn gram(w: &[f32], rows: usize, cols: usize) -> (Vec<f64>, usize) {
    let by_rows = rows <= cols;
    let (k, n) = if by_rows { (rows, cols) } else { (cols, rows) };
    let at =
        |v: usize, e: usize| f64::from(if by_rows { w[v * cols + e] } else { w[e * cols + v] });
    let mut g = vec![0.0; k * k];
    for a in 0..k {
        for b in 0..=a {
            let d: f64 = (0..n).map(|e| at(a, e) * at(b, e)).sum();
            g[a * k + b] = d;
            g[b * k + a] = d;
        }
    }
    (g, k)
}

/// The largest `|G - gain^2 I|` of the Gram matrix of the fewer vectors.
fn orthogonality_error(w: &[f32], rows: usize, cols: usize, gain: f64) -> f64 {
    let (g, k) = gram(w, rows, cols);
    let mut worst = 0.0f64;
    for a in 0..k {
        for b in 0..k {
            let want = if a == b { gain * gain } else { 0.0 };
            worst = worst.max((g[a * k + b] - want).abs());
        }
    }
    worst
}

/// Tolerance of `|W W^T - gain^2 I|` (or `W^T W`) per unit of `gain^2`: about 4 times the
/// worst measured, 1.26e-6 at 512x128. (The core orthogonalises by modified Gram-Schmidt in
/// f32 with a second projection pass; with one pass square draws, ill-conditioned, reached
/// 6e-5 to 1.9e-3.)
const ORTHO_TOL: f64 = 5e-6;

#[test]
fn orthogonal_rows_columns_and_square() {
    // (rows, cols, tolerance per unit of gain^2), measured error (gain 1 and 5/3) quoted.
    let cases = [
        (ROWS, COLS, ORTHO_TOL), // 7.9e-7
        (COLS, ROWS, ORTHO_TOL), // 1.3e-6
        (200, 256, ORTHO_TOL),   // 8.8e-7
        (256, 200, ORTHO_TOL),   // 7.7e-7
        (1, 64, 1e-6),           // 1.5e-7
        (64, 1, 1e-6),           // 1.0e-7
        (36, 16, 1e-6),          // 1.8e-7
        (64, 64, ORTHO_TOL),     // 5.3e-7 (one Gram-Schmidt pass: 6.0e-5)
        (256, 256, ORTHO_TOL),   // 6.8e-7 (one pass: 8.6e-5)
    ];
    for (k, (rows, cols, tol)) in cases.into_iter().enumerate() {
        for gain in [1.0f32, 5.0 / 3.0] {
            let w = draw(Init::Orthogonal { gain }, rows, cols, 80 + k as u64);
            let g = f64::from(gain);
            let err = orthogonality_error(&w, rows, cols, g) / (g * g);
            assert!(err <= tol, "orthogonal {rows}x{cols} gain {gain}: {err:e} > {tol:e}");
        }
    }
}

#[test]
fn orthogonal_is_the_qr_of_a_gaussian_draw() {
    // torch.nn.init.orthogonal_: Q of the QR of a standard normal matrix (transposed when
    // rows < cols), signs fixed so that R has a positive diagonal. With the same generator
    // the core draws A = N(0, 1) in row-major order; then A = L Q (rows <= cols, L lower
    // triangular) or A = Q R (rows > cols, R upper triangular), diagonals positive.
    for (rows, cols, seed) in [(16usize, 40usize, 90u64), (40, 16, 91), (24, 24, 92)] {
        let gain = 1.5f32;
        let q: Vec<f64> = draw(Init::Orthogonal { gain }, rows, cols, seed)
            .iter()
            .map(|&v| f64::from(v) / f64::from(gain))
            .collect();
        let mut rng = Rng::new(seed);
        let a: Vec<f64> = (0..rows * cols).map(|_| f64::from(rng.normal())).collect();
        let by_rows = rows <= cols;
        let (k, n) = if by_rows { (rows, cols) } else { (cols, rows) };
        let qv = |v: usize, e: usize| if by_rows { q[v * cols + e] } else { q[e * cols + v] };
        let av = |v: usize, e: usize| if by_rows { a[v * cols + e] } else { a[e * cols + v] };
        // t[i][j] = <a_i, q_j>: the triangular factor.
        let t: Vec<f64> =
            (0..k * k).map(|ij| (0..n).map(|e| av(ij / k, e) * qv(ij % k, e)).sum()).collect();
        for i in 0..k {
            assert!(t[i * k + i] > 0.1, "{rows}x{cols}: diagonal {i} = {}", t[i * k + i]);
            for j in i + 1..k {
                assert!(t[i * k + j].abs() < 1e-4, "{rows}x{cols}: t[{i}][{j}] = {}", t[i * k + j]);
            }
        }
        // And the factors multiply back to A.
        for i in 0..k {
            for e in 0..n {
                let back: f64 = (0..=i).map(|j| t[i * k + j] * qv(j, e)).sum();
                assert!((back - av(i, e)).abs() < 1e-4, "{rows}x{cols}: A[{i}][{e}]");
            }
        }
    }
}

/// The weights and biases of `draws` freshly initialised layers.
fn layer_samples<L: Layer>(init: &LayerInit, draws: u64) -> (Vec<f32>, Vec<f32>) {
    let (mut w, mut b) = (Vec::new(), Vec::new());
    for seed in 0..draws {
        let mut layer = L::DEFAULT;
        layer.init(init, &mut Rng::new(1000 + seed));
        w.extend_from_slice(layer.tensor(0));
        b.extend_from_slice(layer.tensor(1));
    }
    (w, b)
}

#[test]
fn layer_init_presets_on_dense() {
    type D = Dense<COLS, ROWS>;
    let (fan_in, fan_out) = (COLS as f64, ROWS as f64);
    // nn.Linear's default: weight and bias U(+-1/sqrt(fan_in)); many draws for the bias.
    let (w, b) = layer_samples::<D>(&LayerInit::TORCH_DEFAULT, 1);
    let bound = 1.0 / fan_in.sqrt();
    assert_uniform("TORCH_DEFAULT weight", &w, -bound, bound);
    let (_, b_many) = layer_samples::<Dense<16, 2048>>(&LayerInit::TORCH_DEFAULT, 32);
    assert_uniform("TORCH_DEFAULT bias (fan_in 16)", &b_many, -0.25, 0.25);
    assert_eq!(b.len(), ROWS);
    // He uniform for ReLU (fan_in), biases 0.01.
    let (w, b) = layer_samples::<D>(&LayerInit::HE_RELU, 1);
    let bound = 2f64.sqrt() * (3.0 / fan_in).sqrt();
    assert_uniform("HE_RELU weight", &w, -bound, bound);
    assert!(b.iter().all(|&v| v == 0.01), "HE_RELU bias");
    // Glorot uniform, zero biases.
    let (w, b) = layer_samples::<D>(&LayerInit::XAVIER, 1);
    let bound = (6.0 / (fan_in + fan_out)).sqrt();
    assert_uniform("XAVIER weight", &w, -bound, bound);
    assert!(b.iter().all(|&v| v.to_bits() == 0), "XAVIER bias");
    // Through the layer, FanOut is the output count.
    let init = LayerInit {
        weight: Init::KaimingNormal { mode: FanMode::FanOut, nonlinearity: Nonlinearity::Tanh },
        bias: Init::Zeros,
    };
    let (w, _) = layer_samples::<D>(&init, 1);
    assert_normal("dense kaiming_normal fan_out tanh", &w, 0.0, 5.0 / 3.0 / fan_out.sqrt());
    // An orthogonal bias makes no sense: zeros; the weight's rows are orthogonal.
    let init =
        LayerInit { weight: Init::Orthogonal { gain: 2.0 }, bias: Init::Orthogonal { gain: 2.0 } };
    let (w, b) = layer_samples::<D>(&init, 1);
    assert!(b.iter().all(|&v| v.to_bits() == 0), "orthogonal bias");
    assert!(orthogonality_error(&w, ROWS, COLS, 2.0) <= ORTHO_TOL * 4.0, "dense orthogonal");
}

/// Conv weights `[O][C/G][KH][KW]` (transposed: `[C][O][KH][KW]`): PyTorch's
/// `_calculate_fan_in_and_fan_out` gives `fan_in = size(1) * KH * KW`,
/// `fan_out = size(0) * KH * KW`.
type Conv2dG = Conv2d<8, 3, 3, 16, 1, 1, 3, 3, 1, 0, 2, 4>; // fan_in 4*9 = 36, fan_out 16*9 = 144
type Conv1dK3 = Conv1d<8, 5, 16, 3, 3>; // fan_in 8*3 = 24, fan_out 16*3 = 48
type ConvT = ConvTranspose2d<16, 1, 1, 8, 3, 3, 3, 3>; // fan_in 8*9 = 72, fan_out 16*9 = 144

/// Weights and biases of enough layers for about 73 728 weights.
type Samples = fn(&LayerInit) -> (Vec<f32>, Vec<f32>);

/// `(name, fan_in, PyTorch's fan_out, samples)` per conv layer.
fn conv_cases() -> [(&'static str, f64, f64, Samples); 3] {
    [
        ("conv2d groups 2", 36.0, 144.0, |i| layer_samples::<Conv2dG>(i, 128)),
        ("conv1d", 24.0, 48.0, |i| layer_samples::<Conv1dK3>(i, 192)),
        ("conv_transpose2d", 72.0, 144.0, |i| layer_samples::<ConvT>(i, 64)),
    ]
}

#[test]
fn conv_layers_use_pytorchs_fan_in() {
    for (name, fan_in, _, samples) in conv_cases() {
        // nn.Conv2d's default (kaiming_uniform_(a = sqrt 5)): weight and bias U(+-1/sqrt(fan_in)).
        let (w, b) = samples(&LayerInit::TORCH_DEFAULT);
        let bound = 1.0 / fan_in.sqrt();
        assert_uniform(&format!("{name} TORCH_DEFAULT weight"), &w, -bound, bound);
        assert_uniform(&format!("{name} TORCH_DEFAULT bias"), &b, -bound, bound);
        let (w, _) = samples(&LayerInit::HE_RELU);
        let bound = (6.0 / fan_in).sqrt();
        assert_uniform(&format!("{name} HE_RELU weight"), &w, -bound, bound);
        let init = LayerInit {
            weight: Init::KaimingNormal { mode: FanMode::FanIn, nonlinearity: Nonlinearity::Tanh },
            bias: Init::Zeros,
        };
        let (w, _) = samples(&init);
        assert_normal(
            &format!("{name} kaiming_normal fan_in tanh"),
            &w,
            0.0,
            5.0 / 3.0 / fan_in.sqrt(),
        );
        let (w, _) = samples(&LayerInit { weight: Init::LecunNormal, bias: Init::Zeros });
        assert_normal(&format!("{name} lecun_normal"), &w, 0.0, 1.0 / fan_in.sqrt());
    }
}

#[test]
fn conv_layers_use_pytorchs_fan_out() {
    for (name, fan_in, fan_out, samples) in conv_cases() {
        let init = LayerInit {
            weight: Init::KaimingNormal { mode: FanMode::FanOut, nonlinearity: Nonlinearity::Relu },
            bias: Init::Zeros,
        };
        let (w, _) = samples(&init);
        assert_normal(
            &format!("{name} kaiming_normal fan_out"),
            &w,
            0.0,
            2f64.sqrt() / fan_out.sqrt(),
        );
        let (w, _) = samples(&LayerInit::XAVIER);
        let bound = (6.0 / (fan_in + fan_out)).sqrt();
        assert_uniform(&format!("{name} xavier_uniform"), &w, -bound, bound);
    }
}

#[test]
fn conv_orthogonal_flattens_each_output_kernel() {
    // torch flattens a conv weight to [O][C/G * KH * KW] before the QR: 16 rows of 36.
    let init = LayerInit { weight: Init::Orthogonal { gain: 1.0 }, bias: Init::Zeros };
    let (w, b) = layer_samples::<Conv2dG>(&init, 1);
    assert!(b.iter().all(|&v| v.to_bits() == 0));
    assert!(orthogonality_error(&w, 16, 36, 1.0) <= ORTHO_TOL, "conv2d orthogonal");
}

#[test]
fn orthogonal_leaves_a_mis_sized_buffer_alone() {
    // 10 values are not a 3 x 4 matrix: untouched (no draw, no panic); 0 x 5 is empty.
    let mut w = [7.0f32; 10];
    Init::Orthogonal { gain: 1.0 }.fill(&mut w, 3, 4, &mut Rng::new(1));
    assert_eq!(w, [7.0; 10]);
    Init::Orthogonal { gain: 1.0 }.fill(&mut [], 0, 5, &mut Rng::new(1));
}

#[test]
fn runtime_shaped_conv_layers_draw_the_typed_layers_bits() {
    use neurite::params::Params;
    // The CLI's conv layers (spec-built) must initialise exactly as the typed ones: same fans,
    // same draws in the same order. Fan-out schemes show the kernel-area factor.
    use neurite_host::dynamic::{parse_spec, DynModel};
    let inits = [
        LayerInit {
            weight: Init::KaimingNormal { mode: FanMode::FanOut, nonlinearity: Nonlinearity::Relu },
            bias: Init::Zeros,
        },
        LayerInit::XAVIER,
        LayerInit::TORCH_DEFAULT,
    ];
    let typed = |init: &LayerInit, which: usize| -> Vec<Vec<f32>> {
        let mut rng = Rng::new(7);
        let tensors = |l: &dyn Fn(usize) -> Vec<f32>| vec![l(0), l(1)];
        match which {
            0 => {
                let mut l = Conv2dG::DEFAULT;
                l.init(init, &mut rng);
                tensors(&|t| l.tensor(t).to_vec())
            }
            1 => {
                let mut l = Conv1dK3::DEFAULT;
                l.init(init, &mut rng);
                tensors(&|t| l.tensor(t).to_vec())
            }
            _ => {
                let mut l = ConvT::DEFAULT;
                l.init(init, &mut rng);
                tensors(&|t| l.tensor(t).to_vec())
            }
        }
    };
    let specs = [
        ("conv2d(16,3,groups=2)", vec![8, 3, 3]),
        ("conv1d(16,3)", vec![8, 5]),
        ("conv_transpose2d(8,3)", vec![16, 1, 1]),
    ];
    for init in &inits {
        for (which, (spec, shape)) in specs.iter().enumerate() {
            let mut m = DynModel::build(&parse_spec(spec).unwrap(), shape).unwrap();
            m.init(init, &mut Rng::new(7));
            let got: Vec<Vec<u32>> =
                m.tensors().iter().map(|t| t.iter().map(|v| v.to_bits()).collect()).collect();
            let want: Vec<Vec<u32>> = typed(init, which)
                .iter()
                .map(|t| t.iter().map(|v| v.to_bits()).collect())
                .collect();
            assert_eq!(got, want, "{spec} with {init:?}");
        }
    }
}
