//! The numeric side of the gradient checks (`tests/gradcheck.rs`, `tests/gradcheck_conv.rs`,
//! `tests/dropout.rs`): Richardson-extrapolated central differences and a per-function
//! tolerance that must be tight enough to catch a derivative 0.5% off.
//!
//! The derivative of `f` at `x` is `D = (s1^2 D(s2) - s2^2 D(s1)) / (s1^2 - s2^2)` from the
//! central differences `D(s) = (f(x + s) - f(x - s)) / 2s` with the nominal steps `h` and
//! `h / 2`, where `s1`, `s2` are the half-steps actually taken (`x +- h` rounded to `f32`;
//! `D = (4 D(h/2) - D(h)) / 3` when they are exact): the `h^2 f'''/6` truncation error
//! cancels, leaving `-h^4 f^(5) / 480`, so a step of `1e-2` costs ~1e-11 on a function
//! with bounded fifth derivative, and the error left is the rounding of the `f32` forward
//! (about `3 eps |f| / h`). Objectives are summed in `f64`.
//!
//! Each function gets a [`Spec`]: its step and its tolerance
//! `|analytic - numeric| <= abs + rel * |numeric|`, set from the measured error (the test
//! files quote the measurement). [`Check::finish`] then asserts that the check can see the
//! bug it exists for: at some point the analytic derivative scaled by `1.005` (and by
//! `0.995`) would have failed. Run a check file with `NEURITE_GRADCHECK_REPORT=1` and
//! `--nocapture` to measure: it prints every check's largest error (`max |err|`, and
//! `max |err|/|num|` over the points with `|numeric| >= 1e-2`) and asserts nothing.

use std::fmt::Display;

use neurite::layer::Layer;
use neurite::params::{Params, Vector};

/// The planted error every check must catch: a derivative `1 +- PLANT` times the true one.
pub const PLANT: f64 = 0.005;

/// `|analytic - numeric| <= abs + rel * |numeric|`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tol {
    /// Absolute floor, for derivatives near zero.
    pub abs: f64,
    /// Relative part; must stay well below [`PLANT`].
    pub rel: f64,
}

/// The step and tolerance of one function's check.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spec {
    /// Nominal step `h` (the second difference uses `h / 2`).
    pub h: f32,
    /// Tolerance.
    pub tol: Tol,
}

impl Spec {
    /// Step `h`, tolerance `abs + rel * |numeric|`.
    pub const fn new(h: f32, abs: f64, rel: f64) -> Self {
        Self { h, tol: Tol { abs, rel } }
    }
}

/// One central difference with half-step `s` as actually taken in `f32`: `(D, s_actual)`.
fn central(f: &mut impl FnMut(f32) -> f64, x: f32, s: f32) -> (f64, f64) {
    let (xp, xm) = (x + s, x - s);
    let width = f64::from(xp) - f64::from(xm);
    assert!(width > 0.0, "step {s} vanishes at {x}");
    ((f(xp) - f(xm)) / width, 0.5 * width)
}

/// `f'(x)` by Richardson extrapolation of central differences with steps `h` and `h / 2`
/// (module documentation). `f` takes the perturbed value and returns the objective.
pub fn derivative(mut f: impl FnMut(f32) -> f64, x: f32, h: f32) -> f64 {
    let (d1, s1) = central(&mut f, x, h);
    let (d2, s2) = central(&mut f, x, 0.5 * h);
    let (q1, q2) = (s1 * s1, s2 * s2);
    (q1 * d2 - q2 * d1) / (q1 - q2)
}

/// The comparisons of one function (or one tensor of a layer): asserts each point against
/// the tolerance, keeps the largest errors seen and whether a derivative scaled by
/// `1 +- PLANT` would have failed somewhere.
#[derive(Debug)]
pub struct Check {
    name: String,
    tol: Tol,
    points: usize,
    max_abs: f64,
    max_rel: f64,
    max_numeric: f64,
    catches: [bool; 2],
    fails: usize,
}

impl Check {
    /// A check named `name` with tolerance `tol`.
    pub fn new(name: impl Into<String>, tol: Tol) -> Self {
        Self {
            name: name.into(),
            tol,
            points: 0,
            max_abs: 0.0,
            max_rel: 0.0,
            max_numeric: 0.0,
            catches: [false; 2],
            fails: 0,
        }
    }

    /// Compares one analytic derivative with its numeric value; panics beyond tolerance
    /// (`at`, written after the check's name, says which point).
    pub fn point(&mut self, at: impl Display, analytic: f32, numeric: f64) {
        let a = f64::from(analytic);
        let bound = self.tol.abs + self.tol.rel * numeric.abs();
        let err = (a - numeric).abs();
        if err > bound {
            self.fails += 1;
        }
        assert!(
            err <= bound || measuring(),
            "{}{at}: analytic {analytic:e}, numeric {numeric:e}: |diff| {err:.3e} > {bound:.3e} \
             (abs {:e}, rel {:e})",
            self.name,
            self.tol.abs,
            self.tol.rel
        );
        for (k, scale) in [1.0 + PLANT, 1.0 - PLANT].into_iter().enumerate() {
            if (a * scale - numeric).abs() > bound {
                self.catches[k] = true;
            }
        }
        self.points += 1;
        self.max_abs = self.max_abs.max(err);
        if numeric.abs() >= 1e-2 {
            self.max_rel = self.max_rel.max(err / numeric.abs());
        }
        self.max_numeric = self.max_numeric.max(numeric.abs());
    }

    fn report(&self, sensitive: bool) {
        if measuring() {
            println!(
                "gradcheck {:<36} {:>4} points  max |err| {:.2e}  max |err|/|num| {:.2e}  \
                 max |num| {:.2e}  tol abs {:.0e} rel {:.0e}{}{}",
                self.name,
                self.points,
                self.max_abs,
                self.max_rel,
                self.max_numeric,
                self.tol.abs,
                self.tol.rel,
                if self.fails > 0 { format!("  FAILS {}", self.fails) } else { String::new() },
                if !sensitive || self.catches == [true; 2] { "" } else { "  BLIND to 0.5%" },
            );
        }
    }

    /// Ends the check: asserts that a derivative `1 +- PLANT` times the analytic one would
    /// have failed at some point (the tolerance is tight enough to see such a bug).
    pub fn finish(self) {
        self.report(true);
        assert!(
            self.catches == [true; 2] || measuring(),
            "{}: tolerance (abs {:e}, rel {:e}) too loose to catch a derivative {}% off \
             ({} points, largest |numeric| {:e})",
            self.name,
            self.tol.abs,
            self.tol.rel,
            PLANT * 100.0,
            self.points,
            self.max_numeric
        );
    }

    /// Ends a check whose derivative is zero everywhere (the step function): no scale of it
    /// can be seen, so only the points were compared.
    pub fn finish_zero(self) {
        self.report(false);
        assert!(self.max_numeric == 0.0 || measuring(), "{}: a nonzero derivative", self.name);
    }
}

/// `NEURITE_GRADCHECK_REPORT` is set: measure, print every check's largest errors, and
/// assert nothing (the errors beyond tolerance are counted as `FAILS`).
pub fn measuring() -> bool {
    std::env::var_os("NEURITE_GRADCHECK_REPORT").is_some()
}

/// `sum_i c_i y_i` in `f64`.
pub fn dot64(y: &[f32], c: &[f32]) -> f64 {
    y.iter().zip(c).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum()
}

/// Checks the analytic `dx` and parameter gradients `grads` of `c . run(layer, x)` against
/// [`derivative`]s with `spec`: one [`Check`] for `dx` and one per parameter tensor (each
/// must catch a 0.5% error; a tensor whose gradient is zero throughout, none here, would
/// fail that).
#[allow(clippy::too_many_arguments)]
pub fn check_layer_gradients<L: Layer + Clone>(
    name: &str,
    layer: &L,
    x: &L::Input,
    c: &L::Output,
    dx: &L::Input,
    grads: &L::Grads,
    run: impl Fn(&L, &L::Input) -> L::Output,
    spec: Spec,
) {
    let objective = |l: &L, x: &L::Input| dot64(run(l, x).as_slice(), c.as_slice());
    let mut check = Check::new(format!("{name} dx"), spec.tol);
    for i in 0..L::Input::LEN {
        let numeric = derivative(
            |v| {
                let mut xv = *x;
                xv.as_mut_slice()[i] = v;
                objective(layer, &xv)
            },
            x.as_slice()[i],
            spec.h,
        );
        check.point(format_args!("[{i}]"), dx.as_slice()[i], numeric);
    }
    check.finish();
    for t in 0..L::TENSORS {
        let mut check = Check::new(format!("{name} param[{t}]"), spec.tol);
        let mut lv = layer.clone();
        for j in 0..layer.tensor(t).len() {
            let numeric = derivative(
                |v| {
                    lv.tensor_mut(t)[j] = v;
                    objective(&lv, x)
                },
                layer.tensor(t)[j],
                spec.h,
            );
            lv.tensor_mut(t)[j] = layer.tensor(t)[j];
            check.point(format_args!("[{j}]"), grads.tensor(t)[j], numeric);
        }
        check.finish();
    }
}

/// A random `c` for the objective `c . layer(x)`: each value uniform in `[-1, 1)`.
pub fn random_weights<V: Vector>(rng: &mut neurite::prelude::Rng) -> V {
    let mut c = V::ZEROED;
    for v in c.as_mut_slice() {
        *v = rng.uniform_range(-1.0, 1.0);
    }
    c
}
