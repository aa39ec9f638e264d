//! Gradient checks: every layer, activation and loss against Richardson-extrapolated
//! central differences (`neurite_tests::gradcheck`), at several random points and beside
//! each kink.
//!
//! Each function has its own step and tolerance `|analytic - numeric| <= abs + rel *
//! |numeric|` (a `Spec`), set at a few times the error measured with
//! `NEURITE_GRADCHECK_REPORT=1 cargo test -p neurite-tests --test gradcheck -- --nocapture`
//! (quoted beside each); every check also asserts that a derivative 0.5% off would fail it.

use std::collections::BTreeMap;

use neurite::activation::ActivationKind;
use neurite::layer::{Act, Ctx, Dense, Layer, LogSoftmax, Prelu, Softmax};
use neurite::loss::*;
use neurite::params::{Params, Zeroed};
use neurite::prelude::Rng;
use neurite_tests::gradcheck::{check_layer_gradients, derivative, random_weights, Check, Spec};

/// Distance kept from kinks (steps stay below it).
const H: f32 = 1e-2;

/// Checks `d(c . layer(x)) / dx` and `/ d params` for a layer at input `x`, random `c`.
fn check_layer<L: Layer + Clone>(name: &str, layer: &L, x: &L::Input, rng: &mut Rng, spec: Spec) {
    let c: L::Output = random_weights(rng);
    let mut trace = L::Trace::ZEROED;
    let mut y = L::Output::ZEROED;
    layer.forward_trace(&mut Ctx::train(), x, &mut trace, &mut y);
    let mut dx = L::Input::ZEROED;
    let mut grads = L::Grads::ZEROED;
    layer.backward(x, &trace, &c, &mut dx, &mut grads);
    let run = |l: &L, x: &L::Input| {
        let mut y = L::Output::ZEROED;
        l.forward(x, &mut y);
        y
    };
    check_layer_gradients(name, layer, x, &c, &dx, &grads, run, spec);
}

fn random_vec<const N: usize>(rng: &mut Rng, scale: f32) -> [f32; N] {
    core::array::from_fn(|_| scale * rng.normal())
}

/// Moves values within `3h` of a kink at 0 away from it (finite differences across a kink
/// measure the average of the two one-sided slopes, not the derivative).
fn off_kink<const N: usize>(mut x: [f32; N]) -> [f32; N] {
    for v in &mut x {
        if v.abs() < 3.0 * H {
            *v = if *v < 0.0 { -5.0 * H } else { 5.0 * H };
        }
    }
    x
}

/// Step beside kinks and discontinuities (points are kept at least `3 H` from them).
const KINK: f32 = H;
/// Step for smooth functions: Richardson's truncation error `h^4 |f^(5)| / 480` stays near
/// 1e-6 while the rounding error `~3 eps |f| / h` is ten times smaller than at `h = 1e-2`.
const SMOOTH: f32 = 0.1;
/// Step for functions linear in the perturbed value (no truncation error at all).
const LINEAR: f32 = 0.5;

/// Step and tolerance per activation: `abs` about 3x the largest `|analytic - numeric|`
/// measured over the 36 points (quoted), `rel` 1e-4. With these, a derivative 0.5% off
/// fails wherever `|f'|` exceeds about `abs / 0.0049`, 1.2e-2 at most.
fn kind_spec(kind: ActivationKind) -> Spec {
    use ActivationKind as K;
    match kind {
        K::Identity | K::Step | K::Relu => Spec::new(KINK, 1e-6, 1e-4), // 0 (exact)
        K::LeakyRelu(_) => Spec::new(KINK, 2e-5, 1e-4),                 // 4.6e-6
        K::Softplus(..) => Spec::new(KINK, 6e-5, 1e-4),                 // 2.1e-5
        K::Elu(_) => Spec::new(KINK, 1e-5, 1e-4),                       // 3.4e-6
        K::Selu => Spec::new(KINK, 6e-5, 1e-4),                         // 1.9e-5
        K::Sigmoid => Spec::new(SMOOTH, 3e-6, 1e-4),                    // 7.7e-7
        K::Tanh => Spec::new(SMOOTH, 1e-5, 1e-4),                       // 3.2e-6
        K::Gelu => Spec::new(SMOOTH, 1e-5, 1e-4),                       // 2.5e-6
        K::GeluTanh => Spec::new(SMOOTH, 5e-6, 1e-4),                   // 1.5e-6
        K::Silu => Spec::new(SMOOTH, 2e-5, 1e-4),                       // 6.1e-6
        K::Swish(_) => Spec::new(SMOOTH, 1e-5, 1e-4),                   // 3.1e-6
    }
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
        let mut check = Check::new(format!("{kind:?}"), kind_spec(kind).tol);
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
            check_kind(&mut check, trial, kind, &x);
        }
        if kind == ActivationKind::Step {
            check.finish_zero();
        } else {
            check.finish();
        }
    }
}

/// The runtime kind's backward against derivatives of its forward, element by element.
fn check_kind(check: &mut Check, trial: usize, kind: ActivationKind, x: &[f32; 6]) {
    let dy = [1.0; 6];
    let mut dx = [0.0; 6];
    kind.backward(x, &dy, &mut dx);
    let f = |v: f32| {
        let mut y = [0.0];
        kind.forward(&[v], &mut y);
        f64::from(y[0])
    };
    for i in 0..6 {
        let numeric = derivative(f, x[i], kind_spec(kind).h);
        check.point(format_args!(" trial {trial} x[{i}]={}", x[i]), dx[i], numeric);
    }
}

#[test]
fn typed_activation_layers_and_vector_layers() {
    use neurite::activation as a;
    // Step and tolerance per layer (largest error over the 4 trials quoted), as `kind_spec`.
    let relu = Spec::new(KINK, 1e-6, 1e-4); // 0 (exact)
    let gelu = Spec::new(SMOOTH, 1e-5, 1e-4); // 3.5e-6
    let selu = Spec::new(KINK, 6e-5, 1e-4); // 2.3e-5
    let softmax = Spec::new(SMOOTH, 3e-6, 1e-4); // 6.6e-7
    let log_softmax = Spec::new(SMOOTH, 1e-5, 1e-4); // 3.7e-6
    let prelu = Spec::new(KINK, 2e-5, 1e-4); // 6.9e-6 (shared), 2.3e-6 (per channel)
    let mut rng = Rng::new(5);
    for _ in 0..4 {
        let x = off_kink(random_vec::<5>(&mut rng, 1.5));
        check_layer("relu", &Act::<a::Relu, 5>::new(a::Relu), &x, &mut rng, relu);
        check_layer("gelu", &Act::<a::Gelu, 5>::new(a::Gelu), &x, &mut rng, gelu);
        check_layer("selu", &Act::<a::Selu, 5>::new(a::Selu), &x, &mut rng, selu);
        check_layer("softmax", &Softmax::<5>, &x, &mut rng, softmax);
        check_layer("log_softmax", &LogSoftmax::<5>, &x, &mut rng, log_softmax);
        check_layer("prelu shared", &Prelu::<5, 1>::new([0.3]), &x, &mut rng, prelu);
        let channel = Prelu::<5, 5>::new([0.1, 0.2, 0.3, -0.2, 0.5]);
        check_layer("prelu channel", &channel, &x, &mut rng, prelu);
    }
}

#[test]
fn dense_and_chains() {
    let dense = Spec::new(LINEAR, 1e-6, 1e-4); // 3.0e-7 (linear: rounding only)
    let chain_spec = Spec::new(KINK, 5e-5, 1e-4); // 1.3e-5 (the ELU's kink bounds the step)
    let mut rng = Rng::new(8);
    for _ in 0..4 {
        let mut d = Dense::<3, 4>::DEFAULT;
        for t in 0..2 {
            for v in d.tensor_mut(t) {
                *v = rng.normal();
            }
        }
        check_layer("dense", &d, &random_vec::<3>(&mut rng, 1.0), &mut rng, dense);

        type Chain = neurite::Seq![Dense<3, 5>, neurite::layer::Tanh<5>, Dense<5, 4>, neurite::layer::Elu<4>, Dense<4, 2>];
        let mut chain = Chain::DEFAULT;
        chain.init(&neurite::init::LayerInit::XAVIER, &mut rng);
        let x = random_vec::<3>(&mut rng, 1.0);
        check_layer("chain", &chain, &x, &mut rng, chain_spec);
    }
}

/// One [`Check`] per loss, over every trial.
type Checks = BTreeMap<String, Check>;

/// Checks `d loss / d pred` of one sample. The objective is the loss of the perturbed
/// element (`elements`) for per-element losses, else the sample's loss.
fn check_loss(
    checks: &mut Checks,
    name: &str,
    spec: Spec,
    loss: &dyn Loss,
    pred: &[f32],
    target: Target<'_>,
    trial: usize,
) {
    loss.check(pred.len(), target).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut grad = vec![0.0; pred.len()];
    loss.eval(pred, target, &mut grad, None);
    let check = checks.entry(name.to_string()).or_insert_with(|| Check::new(name, spec.tol));
    let mut scratch = vec![0.0; pred.len()];
    let mut elements = vec![0.0; pred.len()];
    for i in 0..pred.len() {
        let mut p = pred.to_vec();
        let numeric = derivative(
            |v| {
                p[i] = v;
                let total = loss.eval(&p, target, &mut scratch, Some(&mut elements));
                f64::from(if loss.per_element() { elements[i] } else { total })
            },
            pred[i],
            spec.h,
        );
        check.point(format_args!(" trial {trial} pred[{i}]={}", pred[i]), grad[i], numeric);
    }
}

/// Step and tolerance per loss, as [`kind_spec`] (largest error over the 32 points quoted).
fn loss_spec(name: &str) -> Spec {
    match name {
        "mse" => Spec::new(LINEAR, 2e-6, 1e-4),           // 6.0e-7
        "nll" => Spec::new(LINEAR, 1e-6, 1e-4),           // 9.9e-8
        "kl" => Spec::new(LINEAR, 1e-6, 1e-4),            // 1.4e-7
        "kl log target" => Spec::new(LINEAR, 1e-6, 1e-4), // 1.1e-7
        "mae" => Spec::new(KINK, 1e-4, 1e-4),             // 3.2e-5
        "huber" => Spec::new(KINK, 5e-5, 1e-4),           // 1.6e-5
        "quantile" => Spec::new(KINK, 5e-5, 1e-4),        // 1.2e-5
        "tukey" => Spec::new(KINK, 5e-5, 1e-4),           // 1.0e-5
        "bce" => Spec::new(KINK, 1e-5, 1e-4), // 4.2e-4 where |f'| = 11 (truncation near p = 0)
        "bce_logits" => Spec::new(SMOOTH, 5e-5, 1e-4), // 1.4e-5
        "ce" => Spec::new(SMOOTH, 1e-5, 1e-4), // 3.0e-6
        "ce weighted smoothed" => Spec::new(SMOOTH, 1e-5, 1e-4), // 3.9e-6
        "ce probs" => Spec::new(SMOOTH, 1e-5, 1e-4), // 3.4e-6
        "class balanced" => Spec::new(SMOOTH, 5e-5, 1e-4), // 1.3e-5
        "dice" => Spec::new(SMOOTH, 1e-5, 1e-4), // 2.9e-6
        "dice_bce" => Spec::new(SMOOTH, 1e-5, 1e-4), // 2.7e-6
        "focal" => Spec::new(SMOOTH, 1e-5, 1e-4), // 2.3e-6
        "focal gamma 0.5" => Spec::new(SMOOTH, 2e-5, 1e-4), // 6.1e-6
        "barron -inf" => Spec::new(SMOOTH, 2e-5, 1e-4), // 7.1e-6
        "barron 0" => Spec::new(SMOOTH, 3e-5, 1e-4), // 8.9e-6
        "barron 0.5" => Spec::new(SMOOTH, 4e-5, 1e-4), // 1.2e-5
        "barron 1" => Spec::new(SMOOTH, 3e-5, 1e-4), // 9.0e-6
        "barron 2" => Spec::new(SMOOTH, 2e-5, 1e-4), // 6.8e-6
        "barron 4" => Spec::new(SMOOTH, 6e-5, 1e-4), // 2.2e-5 where |f'| = 50
        "barron -2" => Spec::new(SMOOTH, 3e-5, 1e-4), // 9.6e-6
        _ => panic!("no spec for loss {name}"),
    }
}

#[test]
fn every_loss() {
    let mut rng = Rng::new(21);
    let weights = [0.5f32, 2.0, 1.0, 0.3];
    let pos_weight = [2.0f32, 0.5, 1.0, 3.0];
    let mut cb = [0.0f32; 4];
    class_balanced_weights(&[100, 20, 5, 60], 0.99, &mut cb).unwrap();
    let mut checks = Checks::new();
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
        let mut check = |name: &str, loss: &dyn Loss, pred: &[f32], target: Target<'_>| {
            check_loss(&mut checks, name, loss_spec(name), loss, pred, target, trial);
        };
        check("mse", &Mse, &pred, v);
        check("mae", &Mae, &pred, v);
        check("huber", &Huber { delta: 0.5 }, &pred, v);
        check("bce", &Bce, &probs, Target::Values(&targets01));
        check(
            "bce_logits",
            &BceWithLogits { pos_weight: Some(&pos_weight) },
            &logits,
            Target::Values(&targets01),
        );
        check("ce", &CrossEntropy::default(), &logits, c);
        check(
            "ce weighted smoothed",
            &CrossEntropy { weight: Some(&weights), label_smoothing: 0.1 },
            &logits,
            c,
        );
        check(
            "ce probs",
            &CrossEntropy { weight: Some(&weights), label_smoothing: 0.2 },
            &logits,
            Target::Values(&soft),
        );
        check(
            "class balanced",
            &CrossEntropy { weight: Some(&cb), label_smoothing: 0.0 },
            &logits,
            c,
        );
        check("nll", &Nll { weight: Some(&weights) }, &log_probs, c);
        check("kl", &KlDiv { log_target: false }, &log_probs, Target::Values(&soft));
        check(
            "kl log target",
            &KlDiv { log_target: true },
            &log_probs,
            Target::Values(&log_probs.map(|v| v * 0.5)),
        );
        check("dice", &Dice { smooth: 0.5 }, &probs, Target::Values(&targets01));
        check("dice_bce", &DiceBceWithLogits { smooth: 0.5 }, &logits, Target::Values(&targets01));
        check("focal", &Focal { gamma: 2.0, alpha: 0.25 }, &logits, c);
        check("focal gamma 0.5", &Focal { gamma: 0.5, alpha: 1.0 }, &logits, c);
        check("quantile", &Quantile { tau: 0.3 }, &pred, v);
        check("tukey", &Tukey { c: 1.5 }, &pred, v);
        for (name, alpha) in [
            ("barron 2", 2.0),
            ("barron 0", 0.0),
            ("barron -inf", f32::NEG_INFINITY),
            ("barron 1", 1.0),
            ("barron -2", -2.0),
            ("barron 4", 4.0),
            ("barron 0.5", 0.5),
        ] {
            check(name, &Barron { alpha, c: 0.7 }, &pred, v);
        }
    }
    for (_, check) in checks {
        check.finish();
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

/// Random parameters of scale `scale` (recurrent weights near 0.5 keep the gates away from
/// saturation, where every derivative is tiny).
fn randomised<L: Layer>(rng: &mut Rng, scale: f32) -> L {
    let mut l = L::DEFAULT;
    for t in 0..L::TENSORS {
        for v in l.tensor_mut(t) {
            *v = scale * rng.normal();
        }
    }
    l
}

/// Scale of the recurrent layers' random weights (`scale * N(0, 1)`): a state that does
/// not grow over the steps keeps the objective, and so its `f32` rounding, small.
const WEIGHT_SCALE: f32 = 0.35;
/// Step of the recurrent checks: at `0.1` the truncation error of a weight multiplying
/// inputs of size 2-3 reached 1e-3 relative (and 1.4 on a T=16 LSTM gradient of 15), at
/// `0.01` the rounding error reached 2e-4; `0.03` is the best of the steps tried.
const RECURRENT_STEP: f32 = 0.03;

/// A ReLU RNN with random weights whose pre-activations at `x` all lie at
/// least `0.2` from the kink at 0, with at least half the units active at every step
/// (not a network of zeros), redrawn until they do: a step of `RECURRENT_STEP` in one
/// weight or input moves a pre-activation by far less, so no difference straddles the kink.
/// (Drawn without the margin, seed 14's second network straddled it: 1.6e-1 off.)
fn relu_rnn_off_kink<const I: usize, const H: usize, const T: usize>(
    rng: &mut Rng,
    x: &[[f32; I]; T],
) -> neurite::layer::Rnn<I, H, T, neurite::activation::Relu> {
    loop {
        let rnn: neurite::layer::Rnn<I, H, T, neurite::activation::Relu> =
            randomised(rng, WEIGHT_SCALE);
        let mut trace = [[[0.0; H]; neurite::kernel::recurrent::RNN_TRACE]; T];
        let mut y = [[0.0; H]; T];
        rnn.forward_trace(&mut Ctx::train(), x, &mut trace, &mut y);
        // trace[t][0] is step t's pre-activation
        let off_kink = trace.iter().flat_map(|step| step[0]).all(|pre| pre.abs() >= 0.2);
        let active =
            trace.iter().all(|step| 2 * step[0].iter().filter(|&&pre| pre > 0.0).count() >= H);
        if off_kink && active {
            return rnn;
        }
    }
}

#[test]
fn recurrent_layers_through_time() {
    use neurite::layer::{Gru, LastStep, Lstm, Rnn};
    // measured over seeds 1-40 (three draws each, every check below): at most 3.2e-4 abs
    // (an LSTM T=16 gradient of 7.8) and 2.2e-3 relative where |numeric| >= 1e-2 (3.8e-3
    // for the ReLU RNN, inside abs + rel); none beyond this tolerance
    let spec = Spec::new(RECURRENT_STEP, 4e-5, 2.5e-3);
    let mut rng = Rng::new(14);
    for _ in 0..3 {
        let gru: Gru<3, 4, 5> = randomised(&mut rng, WEIGHT_SCALE);
        let x: [[f32; 3]; 5] = core::array::from_fn(|_| random_vec(&mut rng, 1.0));
        check_layer("gru T=5", &gru, &x, &mut rng, spec);
        let lstm: Lstm<3, 4, 5> = randomised(&mut rng, WEIGHT_SCALE);
        check_layer("lstm T=5", &lstm, &x, &mut rng, spec);
        let rnn: Rnn<3, 4, 5> = randomised(&mut rng, WEIGHT_SCALE);
        check_layer("rnn tanh T=5", &rnn, &x, &mut rng, spec);
        let rnn_relu = relu_rnn_off_kink::<3, 4, 5>(&mut rng, &x);
        check_layer("rnn relu T=5", &rnn_relu, &x, &mut rng, spec);
        // long sequences: T = 16, and the last step alone behind a GRU
        let x: [[f32; 2]; 16] = core::array::from_fn(|_| random_vec(&mut rng, 1.0));
        let long: Gru<2, 3, 16> = randomised(&mut rng, WEIGHT_SCALE);
        check_layer("gru T=16", &long, &x, &mut rng, spec);
        let long: Lstm<2, 3, 16> = randomised(&mut rng, WEIGHT_SCALE);
        check_layer("lstm T=16", &long, &x, &mut rng, spec);
        type Last = neurite::Seq![Gru<2, 3, 16>, LastStep<3, 16>];
        let mut last = Last::DEFAULT;
        last.0 = randomised(&mut rng, WEIGHT_SCALE);
        check_layer("gru + last step T=16", &last, &x, &mut rng, spec);
    }
}

#[test]
fn self_attention_and_positions() {
    use neurite::layer::{PositionalEmbedding, SelfAttention};
    // measured: at most 9.8e-5 abs where |numeric| is 1.4 (8e-5 relative), 3e-4 relative
    // where it is small
    let spec = Spec::new(SMOOTH, 2e-5, 1e-3);
    let linear = Spec::new(LINEAR, 1e-6, 1e-4);
    let mut rng = Rng::new(21);
    for _ in 0..3 {
        let one: SelfAttention<4, 1, 3> = randomised(&mut rng, 0.5);
        let x: [[f32; 4]; 3] = core::array::from_fn(|_| random_vec(&mut rng, 1.0));
        check_layer("self_attention 1 head", &one, &x, &mut rng, spec);
        let two: SelfAttention<4, 2, 5> = randomised(&mut rng, 0.5);
        let x: [[f32; 4]; 5] = core::array::from_fn(|_| random_vec(&mut rng, 1.0));
        check_layer("self_attention 2 heads", &two, &x, &mut rng, spec);
        let pos: PositionalEmbedding<4, 5> = randomised(&mut rng, 1.0);
        check_layer("positional_embedding", &pos, &x, &mut rng, linear);
    }
}
