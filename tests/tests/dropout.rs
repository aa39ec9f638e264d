//! The typed `Dropout` layer and the training context (`Ctx`): eval mode (or no generator) is
//! the identity; train mode drops about `p` of the values and scales the rest by
//! `1 / (1 - p)` (the typed layer, and the runtime-shaped `dropout(p)` that
//! `neurite train --dropout` inserts, backward included); with a fixed mask (a seeded
//! generator) its gradients match central differences, alone and inside a chain; a
//! `Trainer`'s mode and generator reach it; and the masks are the runtime-shaped
//! `dropout(p)`'s, bit for bit.
//!
//! The gradient checks use `neurite_tests::gradcheck` (Richardson-extrapolated central
//! differences, f32 forward, f64 objective) with a step and tolerance per model, set at a
//! few times the error measured with `NEURITE_GRADCHECK_REPORT=1` (quoted beside each).

use neurite::init::LayerInit;
use neurite::layer::{Ctx, Dense, Dropout, Infer, Layer, LayerDesc, Relu, Tanh};
use neurite::loss::{CrossEntropy, Reduction, Target};
use neurite::params::{Params, Vector, Zeroed};
use neurite::prelude::{Rng, Trainer};
use neurite_host::dynamic::backend::CPU;
use neurite_host::dynamic::{parse_spec, Ctx as DynCtx, DynModel, DynTrainer, Workspace};
use neurite_tests::gradcheck::{check_layer_gradients, Spec};

type Img = [[[f32; 5]; 4]; 3];

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn random<V: Vector>(rng: &mut Rng, scale: f32) -> V {
    let mut v = V::ZEROED;
    for x in v.as_mut_slice() {
        *x = scale * rng.normal();
    }
    v
}

#[test]
fn eval_mode_and_no_generator_are_the_identity() {
    let layer = Dropout::<Img>::new(0.5);
    let mut rng = Rng::new(1);
    let x: Img = random(&mut rng, 2.0);
    let dy: Img = random(&mut rng, 1.0);
    let mut gen = Rng::new(7);
    let contexts = [Ctx::eval(), Ctx::train(), Ctx::new(false, Some(&mut gen))];
    for (k, mut ctx) in contexts.into_iter().enumerate() {
        let (mut y, mut mask, mut dx) = (Img::ZEROED, Img::ZEROED, Img::ZEROED);
        layer.forward_trace(&mut ctx, &x, &mut mask, &mut y);
        assert_eq!(bits(Vector::as_slice(&y)), bits(Vector::as_slice(&x)), "context {k}");
        assert!(Vector::as_slice(&mask).iter().all(|&m| m == 1.0), "context {k}");
        layer.backward(&x, &mask, &dy, &mut dx, &mut ());
        assert_eq!(bits(Vector::as_slice(&dx)), bits(Vector::as_slice(&dy)), "context {k}");
    }
    // An eval-mode context holding a generator draws nothing from it.
    assert_eq!(gen, Rng::new(7));
    // Inference is the identity too.
    let mut y = Img::ZEROED;
    layer.forward(&x, &mut y);
    assert_eq!(y, x);
    let mut flat = [0.0; 60];
    layer.forward_flat(Vector::as_slice(&x), &mut flat);
    assert_eq!(flat, Vector::as_slice(&x));
    let mut seen = Vec::new();
    layer.describe(&mut |d| seen.push(d));
    assert_eq!(seen, [LayerDesc::Other { name: "dropout", inputs: 60, outputs: 60, params: 0 }]);
}

#[test]
fn train_mode_drops_about_p_and_scales_by_one_over_one_minus_p() {
    const N: usize = 20_000;
    for p in [0.1f32, 0.3, 0.5, 0.8] {
        let layer = Dropout::<[f32; N]>::new(p);
        let mut rng = Rng::new(11);
        let x: [f32; N] = core::array::from_fn(|i| 0.5 + (i % 17) as f32);
        let (mut y, mut mask) = (Box::new([0.0; N]), Box::new([0.0; N]));
        layer.forward_trace(&mut Ctx::train_with(&mut rng), &x, &mut mask, &mut y);
        let scale = 1.0 / (1.0 - p);
        let mut dropped = 0;
        for i in 0..N {
            if y[i] == 0.0 {
                dropped += 1;
                assert_eq!(mask[i], 0.0);
            } else {
                assert_eq!(y[i].to_bits(), (x[i] * scale).to_bits(), "p {p}, value {i}");
                assert_eq!(mask[i], scale);
            }
        }
        // Binomial(N, p): 5 standard deviations.
        let expected = p as f64 * N as f64;
        let sd = (N as f64 * p as f64 * (1.0 - p as f64)).sqrt();
        assert!((dropped as f64 - expected).abs() < 5.0 * sd, "p {p}: {dropped} dropped");
        // The same seed, the same mask; the next sample a fresh one.
        let (mut again, mut mask2) = (Box::new([0.0; N]), Box::new([0.0; N]));
        layer.forward_trace(&mut Ctx::train_with(&mut Rng::new(11)), &x, &mut mask2, &mut again);
        assert_eq!(bits(&again[..]), bits(&y[..]));
        layer.forward_trace(&mut Ctx::train_with(&mut rng), &x, &mut mask2, &mut again);
        assert_ne!(bits(&again[..]), bits(&y[..]));
    }
    // p = 0 never drops and draws nothing.
    let mut rng = Rng::new(3);
    let (mut y, mut mask) = ([0.0; 8], [0.0; 8]);
    Dropout::<[f32; 8]>::new(0.0).forward_trace(
        &mut Ctx::train_with(&mut rng),
        &[1.5; 8],
        &mut mask,
        &mut y,
    );
    assert_eq!((y, rng), ([1.5; 8], Rng::new(3)));
    assert_eq!(Dropout::<[f32; 8]>::DEFAULT.p, 0.5);
}

/// The runtime-shaped `dropout(p)` (what `neurite train --dropout p` inserts), on a batch of
/// rows: in train mode with a generator every value is 0 or exactly `x * (1 / (1 - p))`
/// (the typed layer's scale), about `p` of them dropped, and the backward scales by the same
/// mask; in eval mode, or without a generator, it is the identity.
#[test]
fn runtime_shaped_dropout_drops_about_p_and_scales_by_one_over_one_minus_p() {
    const N: usize = 5_000;
    const ROWS: usize = 4;
    let x: Vec<Vec<f32>> =
        (0..ROWS).map(|r| (0..N).map(|i| 0.5 + ((i + r) % 17) as f32 - 8.0).collect()).collect();
    let rows: Vec<&[f32]> = x.iter().map(Vec::as_slice).collect();
    for p in [0.1f32, 0.3, 0.5, 0.8] {
        let spec = format!("dropout({p})");
        let mut d = DynModel::build(&parse_spec(&spec).unwrap(), &[N]).unwrap();
        let scale = 1.0 / (1.0 - p);
        let mut ws = Workspace::default();
        let mut rng = Rng::new(11);
        let mut ctx = DynCtx { train: true, rng: Some(&mut rng), backend: &CPU };
        let y = d.forward_train_rows(&mut ctx, &rows, &mut ws).unwrap().to_vec();
        let mut dropped = 0;
        for (i, (&yi, &xi)) in y.iter().zip(x.concat().iter()).enumerate() {
            if yi == 0.0 {
                dropped += 1;
            } else {
                assert_eq!(yi.to_bits(), (xi * scale).to_bits(), "p {p}, value {i}");
            }
        }
        // Binomial(ROWS N, p): 5 standard deviations.
        let n = (ROWS * N) as f64;
        let (expected, sd) = (f64::from(p) * n, (n * f64::from(p) * (1.0 - f64::from(p))).sqrt());
        assert!((f64::from(dropped) - expected).abs() < 5.0 * sd, "p {p}: {dropped} dropped");
        // Each row draws its own mask.
        let mask =
            |row: usize| -> Vec<bool> { y[row * N..][..N].iter().map(|&v| v == 0.0).collect() };
        assert_ne!(mask(0), mask(1), "p {p}: rows share a mask");
        // Backward: dx = dy * mask, the forward's scale on the kept values.
        let dy = vec![1.0f32; ROWS * N];
        let mut grads = d.zero_grads();
        let dx = d.backward(&ctx, &mut ws, &dy, &mut grads, true).unwrap();
        for (i, (&g, &yi)) in dx.iter().zip(&y).enumerate() {
            let want = if yi == 0.0 { 0.0 } else { scale };
            assert_eq!(g.to_bits(), want.to_bits(), "p {p}, gradient {i}");
        }
        // Eval mode, and train mode without a generator: the identity.
        let mut gen = Rng::new(11);
        let contexts = [
            DynCtx { train: false, rng: Some(&mut gen), backend: &CPU },
            DynCtx { train: true, rng: None, backend: &CPU },
        ];
        for (k, mut ctx) in contexts.into_iter().enumerate() {
            let y = d.forward_train_rows(&mut ctx, &rows, &mut ws).unwrap();
            assert_eq!(bits(y), bits(&x.concat()), "p {p}, context {k}");
        }
        assert_eq!(gen, Rng::new(11), "eval mode draws nothing");
    }
}

/// Gradient check of `c . model(x)` in train mode with the mask fixed: every evaluation
/// draws from a generator seeded with `seed`, so every evaluation drops the same values.
fn check<L: Layer + Clone>(
    name: &str,
    model: &L,
    x: &L::Input,
    seed: u64,
    rng: &mut Rng,
    spec: Spec,
) {
    let c: L::Output = random(rng, 1.0);
    let run = |m: &L, x: &L::Input, trace: &mut L::Trace| {
        let mut y = L::Output::ZEROED;
        m.forward_trace(&mut Ctx::train_with(&mut Rng::new(seed)), x, trace, &mut y);
        y
    };

    let mut trace = L::Trace::ZEROED;
    let y = run(model, x, &mut trace);
    // Some values are dropped (the check would not see the mask otherwise).
    let mut plain = L::Output::ZEROED;
    model.forward(x, &mut plain);
    assert_ne!(bits(y.as_slice()), bits(plain.as_slice()), "{name}: no value dropped");

    let mut dx = L::Input::ZEROED;
    let mut grads = L::Grads::ZEROED;
    model.backward(x, &trace, &c, &mut dx, &mut grads);
    let masked = |m: &L, x: &L::Input| {
        let mut trace = L::Trace::ZEROED;
        run(m, x, &mut trace)
    };
    check_layer_gradients(name, model, x, &c, &dx, &grads, masked, spec);
    let mut only = L::Grads::ZEROED;
    model.backward_params(x, &trace, &c, &mut only);
    for t in 0..L::TENSORS {
        assert_eq!(bits(only.tensor(t)), bits(grads.tensor(t)), "{name}: backward_params");
    }
}

#[test]
fn gradients_with_a_fixed_mask_match_central_differences() {
    let mut rng = Rng::new(21);
    let x: Img = random(&mut rng, 1.0);
    // Linear in the input: a long step, rounding only (measured 4.0e-7).
    let spec = Spec::new(0.5, 1e-6, 1e-4);
    check("dropout(0.4) on 3x4x5", &Dropout::<Img>::new(0.4), &x, 5, &mut rng, spec);

    type Chain = neurite::Seq![Dense<5, 12>, Tanh<12>, Dropout<[f32; 12]>, Dense<12, 4>];
    let mut chain = Chain::DEFAULT;
    chain.init(&LayerInit::XAVIER, &mut rng);
    chain.1 .1 .0.p = 0.3;
    let x: [f32; 5] = random(&mut rng, 1.0);
    // Smooth: Richardson at a step of 0.1 (measured 3.2e-5, the first layer's weights).
    let spec = Spec::new(0.1, 1e-4, 1e-4);
    check("dense, tanh, dropout(0.3), dense", &chain, &x, 9, &mut rng, spec);
}

type Net = neurite::Seq![Dense<4, 16>, Relu<16>, Dropout<[f32; 16]>, Dense<16, 3>];
type Plain = neurite::Seq![Dense<4, 16>, Relu<16>, Dense<16, 3>];

fn net(seed: u64) -> (Net, Plain) {
    let mut plain = Plain::DEFAULT;
    plain.init(&LayerInit::HE_RELU, &mut Rng::new(seed));
    let mut net = Net::DEFAULT;
    net.0 = plain.0.clone();
    net.1 .1 .1 = plain.1 .1.clone();
    net.1 .1 .0.p = 0.25;
    (net, plain)
}

/// The summed gradients of one batch.
fn batch_grads(trainer: &mut Trainer<Net>, model: &Net, xs: &[[f32; 4]]) -> Vec<Vec<u32>> {
    let ce = CrossEntropy::default();
    trainer.begin();
    for (i, x) in xs.iter().enumerate() {
        trainer.accumulate(model, &ce, x, Target::Class(i % 3)).unwrap();
    }
    trainer.finish(&ce, Reduction::Sum).unwrap();
    (0..<Net as Params>::TENSORS).map(|t| bits(trainer.grads.tensor(t))).collect()
}

#[test]
fn the_trainer_passes_its_mode_and_generator() {
    let (model, plain) = net(2);
    let mut rng = Rng::new(30);
    let xs: Vec<[f32; 4]> = (0..6).map(|_| random(&mut rng, 1.5)).collect();

    // The plain model's gradients: what dropout in eval mode, or without a generator, gives.
    let ce = CrossEntropy::default();
    let mut pt = Trainer::<Plain>::new();
    pt.begin();
    for (i, x) in xs.iter().enumerate() {
        pt.accumulate(&plain, &ce, x, Target::Class(i % 3)).unwrap();
    }
    pt.finish(&ce, Reduction::Sum).unwrap();
    let want: Vec<Vec<u32>> =
        (0..<Plain as Params>::TENSORS).map(|t| bits(pt.grads.tensor(t))).collect();

    let mut t = Trainer::<Net>::new();
    assert!(t.train_mode && t.dropout_rng.is_none());
    assert_eq!(batch_grads(&mut t, &model, &xs), want, "train mode without a generator");
    let mut t = Trainer::<Net>::with_dropout_rng(Rng::new(4));
    t.train_mode = false;
    assert_eq!(batch_grads(&mut t, &model, &xs), want, "eval mode");
    assert_eq!(t.dropout_rng, Some(Rng::new(4)), "eval mode draws nothing");

    // Train mode with a generator: masks are drawn, reproducibly from the seed.
    t.train_mode = true;
    let dropped = batch_grads(&mut t, &model, &xs);
    assert_ne!(dropped, want);
    assert_ne!(t.dropout_rng, Some(Rng::new(4)));
    let mut again = Trainer::<Net>::with_dropout_rng(Rng::new(4));
    assert_eq!(batch_grads(&mut again, &model, &xs), dropped);
    // The generator moves on: the next batch draws other masks.
    assert_ne!(batch_grads(&mut again, &model, &xs), dropped);
}

/// The typed model and the runtime-shaped `dense(16),relu,dropout(0.25),dense(3)` with the
/// same weights and generator seed: the same masks, so the same gradients, bit for bit.
#[test]
fn masks_are_the_runtime_shaped_dropouts() {
    let (model, _) = net(5);
    let mut d =
        DynModel::build(&parse_spec("dense(16),relu,dropout(0.25),dense(3)").unwrap(), &[4])
            .unwrap();
    for (i, t) in d.tensors_mut().into_iter().enumerate() {
        t.copy_from_slice(model.tensor(i));
    }
    let mut rng = Rng::new(8);
    let xs: Vec<[f32; 4]> = (0..9).map(|_| random(&mut rng, 1.5)).collect();
    let mut st = Trainer::<Net>::with_dropout_rng(Rng::new(77));
    let mut dt = DynTrainer::new(&d);
    dt.dropout_rng = Some(Rng::new(77));
    let ce = CrossEntropy::default();
    for step in 0..3 {
        let typed = batch_grads(&mut st, &model, &xs);
        dt.begin();
        let rows: Vec<&[f32]> = xs.iter().map(|x| &x[..]).collect();
        let ts: Vec<Target<'_>> = (0..xs.len()).map(|i| Target::Class(i % 3)).collect();
        dt.accumulate_batch(&mut d, &ce, &rows, &ts, false).unwrap();
        dt.finish(&ce, Reduction::Sum, 3).unwrap();
        for (i, g) in dt.grads.iter().enumerate() {
            assert_eq!(bits(g), typed[i], "tensor {i}, step {step}");
        }
    }
    assert_eq!(st.dropout_rng, dt.dropout_rng);
}
