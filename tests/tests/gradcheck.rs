//! Gradient checks: every layer, activation and loss against central differences
//! `(f(v + h) - f(v - h)) / 2h`, at several random points and beside each kink.
//!
//! Tolerance: `|analytic - numeric| <= 2e-3 + 2e-2 * |numeric|` (f32 arithmetic, h = 1e-2:
//! truncation error ~h^2, rounding ~1e-7/h).

use neurite::activation::ActivationKind;
use neurite::layer::{Act, Ctx, Dense, Layer, LogSoftmax, Prelu, Softmax};
use neurite::loss::*;
use neurite::params::{Params, Vector, Zeroed};
use neurite::prelude::Rng;

const H: f32 = 1e-2;

fn assert_grad(what: &str, analytic: f32, numeric: f32) {
    let tol = 2e-3 + 2e-2 * numeric.abs();
    assert!((analytic - numeric).abs() <= tol, "{what}: analytic {analytic}, numeric {numeric}");
}

/// Checks `d(c . layer(x)) / dx` and `/ d params` for a layer at input `x`.
fn check_layer<L: Layer + Clone>(name: &str, layer: &L, x: &L::Input, rng: &mut Rng) {
    let mut c = L::Output::ZEROED;
    for v in c.as_mut_slice() {
        *v = rng.uniform_range(-1.0, 1.0);
    }
    let objective = |l: &L, x: &L::Input| {
        let mut y = L::Output::ZEROED;
        l.forward(x, &mut y);
        y.as_slice().iter().zip(c.as_slice()).map(|(a, b)| a * b).sum::<f32>()
    };
    let mut trace = L::Trace::ZEROED;
    let mut y = L::Output::ZEROED;
    layer.forward_trace(&mut Ctx::train(), x, &mut trace, &mut y);
    let mut dx = L::Input::ZEROED;
    let mut grads = L::Grads::ZEROED;
    layer.backward(x, &trace, &c, &mut dx, &mut grads);
    for i in 0..L::Input::LEN {
        let (mut xp, mut xm) = (*x, *x);
        xp.as_mut_slice()[i] += H;
        xm.as_mut_slice()[i] -= H;
        let numeric = (objective(layer, &xp) - objective(layer, &xm)) / (2.0 * H);
        assert_grad(&format!("{name} dx[{i}]"), dx.as_slice()[i], numeric);
    }
    for t in 0..L::TENSORS {
        for j in 0..layer.tensor(t).len() {
            let (mut lp, mut lm) = (layer.clone(), layer.clone());
            lp.tensor_mut(t)[j] += H;
            lm.tensor_mut(t)[j] -= H;
            let numeric = (objective(&lp, x) - objective(&lm, x)) / (2.0 * H);
            assert_grad(&format!("{name} param[{t}][{j}]"), grads.tensor(t)[j], numeric);
        }
    }
}

fn random_vec<const N: usize>(rng: &mut Rng, scale: f32) -> [f32; N] {
    core::array::from_fn(|_| scale * rng.normal())
}

/// Moves values within `2h` of a kink at 0 away from it (finite differences across a kink
/// measure the average of the two one-sided slopes, not the derivative).
fn off_kink<const N: usize>(mut x: [f32; N]) -> [f32; N] {
    for v in &mut x {
        if v.abs() < 3.0 * H {
            *v = if *v < 0.0 { -5.0 * H } else { 5.0 * H };
        }
    }
    x
}

#[test]
fn every_activation_layer() {
    let kinds = [
        ActivationKind::Identity,
        ActivationKind::Step,
        ActivationKind::Sigmoid,
        ActivationKind::Tanh,
        ActivationKind::Relu,
        ActivationKind::LeakyRelu(0.1),
        ActivationKind::Softplus(2.0, 3.0),
        ActivationKind::Softplus(1.0, 20.0),
        ActivationKind::Gelu,
        ActivationKind::GeluTanh,
        ActivationKind::Silu,
        ActivationKind::Swish(1.7),
        ActivationKind::Elu(0.7),
        ActivationKind::Selu,
    ];
    let mut rng = Rng::new(11);
    for kind in kinds {
        for trial in 0..6 {
            let mut x = off_kink(random_vec::<6>(&mut rng, 2.0));
            if trial == 0 {
                // beside the kink at 0 and (softplus) its threshold
                x = [-5.0 * H, 5.0 * H, -0.5, 0.5, 1.45, 1.55];
            }
            if let ActivationKind::Softplus(beta, threshold) = kind {
                for v in &mut x {
                    let edge = threshold / beta;
                    if (*v - edge).abs() < 3.0 * H {
                        *v = edge + 5.0 * H;
                    }
                }
            }
            let name = format!("{kind:?} trial {trial}");
            check_kind(&name, kind, &x);
        }
    }
}

/// The runtime kind's forward/backward against central differences.
fn check_kind(name: &str, kind: ActivationKind, x: &[f32; 6]) {
    let mut y = [0.0; 6];
    kind.forward(x, &mut y);
    let dy = [1.0; 6];
    let mut dx = [0.0; 6];
    kind.backward(x, &dy, &mut dx);
    for i in 0..6 {
        let (mut xp, mut xm) = (*x, *x);
        xp[i] += H;
        xm[i] -= H;
        let (mut yp, mut ym) = ([0.0; 6], [0.0; 6]);
        kind.forward(&xp, &mut yp);
        kind.forward(&xm, &mut ym);
        assert_grad(&format!("{name} x[{i}]={}", x[i]), dx[i], (yp[i] - ym[i]) / (2.0 * H));
    }
}

#[test]
fn typed_activation_layers_and_vector_layers() {
    use neurite::activation as a;
    let mut rng = Rng::new(5);
    for _ in 0..4 {
        let x = off_kink(random_vec::<5>(&mut rng, 1.5));
        check_layer("relu", &Act::<a::Relu, 5>::new(a::Relu), &x, &mut rng);
        check_layer("gelu", &Act::<a::Gelu, 5>::new(a::Gelu), &x, &mut rng);
        check_layer("selu", &Act::<a::Selu, 5>::new(a::Selu), &x, &mut rng);
        check_layer("softmax", &Softmax::<5>, &x, &mut rng);
        check_layer("log_softmax", &LogSoftmax::<5>, &x, &mut rng);
        check_layer("prelu shared", &Prelu::<5, 1>::new([0.3]), &x, &mut rng);
        check_layer("prelu channel", &Prelu::<5, 5>::new([0.1, 0.2, 0.3, -0.2, 0.5]), &x, &mut rng);
    }
}

#[test]
fn dense_and_chains() {
    let mut rng = Rng::new(8);
    for _ in 0..4 {
        let mut d = Dense::<3, 4>::DEFAULT;
        for t in 0..2 {
            for v in d.tensor_mut(t) {
                *v = rng.normal();
            }
        }
        check_layer("dense", &d, &random_vec::<3>(&mut rng, 1.0), &mut rng);

        type Chain = neurite::Seq![Dense<3, 5>, neurite::layer::Tanh<5>, Dense<5, 4>, neurite::layer::Elu<4>, Dense<4, 2>];
        let mut chain = Chain::DEFAULT;
        chain.init(&neurite::init::LayerInit::XAVIER, &mut rng);
        check_layer("chain", &chain, &random_vec::<3>(&mut rng, 1.0), &mut rng);
    }
}

/// Checks `d loss / d pred` of one sample.
fn check_loss(name: &str, loss: &dyn Loss, pred: &[f32], target: Target<'_>) {
    loss.check(pred.len(), target).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut grad = vec![0.0; pred.len()];
    let mut scratch = vec![0.0; pred.len()];
    loss.eval(pred, target, &mut grad, None);
    for i in 0..pred.len() {
        let (mut pp, mut pm) = (pred.to_vec(), pred.to_vec());
        pp[i] += H;
        pm[i] -= H;
        let numeric = (loss.eval(&pp, target, &mut scratch, None)
            - loss.eval(&pm, target, &mut scratch, None))
            / (2.0 * H);
        assert_grad(&format!("{name} pred[{i}]={}", pred[i]), grad[i], numeric);
    }
}

#[test]
fn every_loss() {
    let mut rng = Rng::new(21);
    let weights = [0.5f32, 2.0, 1.0, 0.3];
    let pos_weight = [2.0f32, 0.5, 1.0, 3.0];
    let mut cb = [0.0f32; 4];
    class_balanced_weights(&[100, 20, 5, 60], 0.99, &mut cb).unwrap();
    for trial in 0..8 {
        let logits: Vec<f32> = (0..4).map(|_| 2.0 * rng.normal()).collect();
        let values: Vec<f32> = (0..4).map(|_| 2.0 * rng.normal()).collect();
        // residuals kept away from the kinks at 0 (and at +-delta, +-c)
        let pred: Vec<f32> = values
            .iter()
            .map(|t| {
                let mut r = rng.normal();
                for kink in [0.0f32, 0.5, -0.5, 1.5, -1.5] {
                    if (r - kink).abs() < 3.0 * H {
                        r = kink + 5.0 * H;
                    }
                }
                t + r
            })
            .collect();
        let probs: Vec<f32> = (0..4).map(|_| rng.uniform_range(0.05, 0.95)).collect();
        let targets01: Vec<f32> = (0..4).map(|_| rng.uniform()).collect();
        let mut soft = [0.0f32; 4];
        neurite::kernel::softmax::softmax(&values, &mut soft);
        let mut log_probs = [0.0f32; 4];
        neurite::kernel::softmax::log_softmax(&logits, &mut log_probs);
        let class = rng.below(4);
        let v = Target::Values(&values);
        let c = Target::Class(class);
        let n = |s: &str| format!("{s} trial {trial}");
        check_loss(&n("mse"), &Mse, &pred, v);
        check_loss(&n("mae"), &Mae, &pred, v);
        check_loss(&n("huber"), &Huber { delta: 0.5 }, &pred, v);
        check_loss(&n("bce"), &Bce, &probs, Target::Values(&targets01));
        check_loss(
            &n("bce_logits"),
            &BceWithLogits { pos_weight: Some(&pos_weight) },
            &logits,
            Target::Values(&targets01),
        );
        check_loss(&n("ce"), &CrossEntropy::default(), &logits, c);
        check_loss(
            &n("ce weighted smoothed"),
            &CrossEntropy { weight: Some(&weights), label_smoothing: 0.1 },
            &logits,
            c,
        );
        check_loss(
            &n("ce probs"),
            &CrossEntropy { weight: Some(&weights), label_smoothing: 0.2 },
            &logits,
            Target::Values(&soft),
        );
        check_loss(
            &n("class balanced"),
            &CrossEntropy { weight: Some(&cb), label_smoothing: 0.0 },
            &logits,
            c,
        );
        check_loss(&n("nll"), &Nll { weight: Some(&weights) }, &log_probs, c);
        check_loss(&n("kl"), &KlDiv { log_target: false }, &log_probs, Target::Values(&soft));
        check_loss(
            &n("kl log target"),
            &KlDiv { log_target: true },
            &log_probs,
            Target::Values(&log_probs.map(|v| v * 0.5)),
        );
        check_loss(&n("dice"), &Dice { smooth: 0.5 }, &probs, Target::Values(&targets01));
        check_loss(&n("focal"), &Focal { gamma: 2.0, alpha: 0.25 }, &logits, c);
        check_loss(&n("focal gamma 0.5"), &Focal { gamma: 0.5, alpha: 1.0 }, &logits, c);
        check_loss(&n("quantile"), &Quantile { tau: 0.3 }, &pred, v);
        check_loss(&n("tukey"), &Tukey { c: 1.5 }, &pred, v);
        for alpha in [2.0, 0.0, f32::NEG_INFINITY, 1.0, -2.0, 4.0, 0.5] {
            check_loss(&n(&format!("barron {alpha}")), &Barron { alpha, c: 0.7 }, &pred, v);
        }
    }
}

#[test]
fn barron_limits_are_continuous() {
    // The general formula approaches its special cases as alpha approaches them.
    let mut g = [0.0f32];
    // Near alpha = 2 the gap shrinks like d ln(x^2/d), so probe at d = 1e-5.
    for (limit, near) in [(2.0f32, 2.000_01f32), (0.0, 0.001), (f32::NEG_INFINITY, -1e4)] {
        for r in [0.3f32, 1.7, -2.5] {
            let a =
                Barron { alpha: limit, c: 1.0 }.eval(&[r], Target::Values(&[0.0]), &mut g, None);
            let b = Barron { alpha: near, c: 1.0 }.eval(&[r], Target::Values(&[0.0]), &mut g, None);
            assert!(
                (a - b).abs() < 2e-3 * a.abs().max(1.0),
                "alpha {limit} vs {near} at {r}: {a} {b}"
            );
        }
    }
}
