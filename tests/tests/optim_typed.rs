//! The typed (const-generic) optimisers of the core, `neurite::optim::{Sgd, Adagrad, RmsProp,
//! Adam}`, run for real: every optimiser with every option, on the parameters of a
//! small typed model (`Dense<3, 4>`, `Tanh`, `Dense<4, 2>`: four tensors), for several steps
//! of pseudo-random gradients whose scale changes from step to step (so second moments both
//! grow and shrink and AMSGrad's running maximum matters), with the learning rate changed
//! mid-run through `Optimizer::set_lr` (as a schedule does).
//!
//! After every step two comparisons are made:
//!
//! 1. against the host's runtime-shaped optimiser (`DynOptimizer::..build(&lens)` then
//!    `.step(..)`), started from the same parameters and fed the same gradients:
//!    parameters bit-identical (`to_bits`), step counts equal. The typed optimisers are what
//!    embedded users get; the runtime-shaped ones are the ones `tests/golden.rs` checks
//!    against PyTorch, so this carries PyTorch parity over to the typed state machines (the
//!    constructors, the state slots chosen by type, the step counting). The runtime-shaped
//!    optimiser is always given its hyper-parameters as a full struct literal, never through
//!    the core's config constructors, so a constructor that drops an option shows.
//! 2. against reference formulas written here in `f64` from the algorithm boxes of the
//!    `torch.optim` documentation (SGD, Adagrad, RMSprop, Adam, AdamW; AMSGrad as PyTorch's
//!    code has it: the maximum of the uncorrected second moment). Both front ends call the
//!    same slice kernels (`sgd::update`, `adam::update`, ...), so a mistake inside a kernel
//!    cannot show in comparison 1; this one sees it. The tolerance is a relative one, a few
//!    times the largest error measured (see [`TOLERANCE`]).
//!
//! The AMSGrad cases also check that the running maximum changed the result (same start,
//! same gradients, with and without it). `NEURITE_OPTIM_REPORT=1` prints the largest error
//! of each case (`-- --nocapture`).

use neurite::init::LayerInit;
use neurite::layer::{Dense, Layer, Tanh};
use neurite::optim::{
    Adagrad, AdagradConfig, Adam, AdamConfig, AmsGrad, On, Optimizer, RmsProp, RmsPropCentered,
    RmsPropConfig, RmsPropMomentum, Sgd, SgdConfig, SgdMomentum,
};
use neurite::params::{Params, Zeroed};
use neurite::rng::Rng;
use neurite_host::dynamic::DynOptimizer;

type Model = neurite::Seq![Dense<3, 4>, Tanh<4>, Dense<4, 2>];
type G = <Model as Layer>::Grads;

/// Scale of the gradients at each step: large and small in turn, so that second moments
/// decrease at some steps (AMSGrad keeps its maximum) and the momentum buffers change sign.
const SCALES: [f32; 8] = [1.0, 0.3, 2.0, 0.05, 1.5, 0.01, 0.8, 0.2];
/// The learning rate is multiplied by `LR_FACTOR` before this step (0-based).
const LR_CHANGE_AT: usize = 4;
const LR_FACTOR: f32 = 0.3;
const LR: f32 = 0.05;

/// Largest relative error allowed between the typed optimiser (f32) and the f64 reference
/// formulas: `|typed - reference| / max |reference|` over each tensor (relative to the
/// tensor's scale: an element that passes near 0 keeps the absolute rounding error of the
/// larger values it came from), for every parameter after every step. Measured over all
/// cases of this file: at most 3.7e-7 (RMSprop, alpha 0.9, centred, momentum, weight decay);
/// set at about five times that.
const TOLERANCE: f64 = 2e-6;

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// `torch.optim`'s algorithms in `f64`, from the algorithm boxes of its documentation, for
/// the hyper-parameters a `DynOptimizer` names. State: up to three buffers per tensor.
struct Reference {
    kind: DynOptimizer,
    lr: f64,
    t: u32,
    params: Vec<Vec<f64>>,
    state: Vec<[Vec<f64>; 3]>,
}

impl Reference {
    fn new(kind: &DynOptimizer, params: &[Vec<f32>]) -> Self {
        let init = match kind {
            DynOptimizer::Adagrad(c) => f64::from(c.initial_accumulator_value),
            _ => 0.0,
        };
        Self {
            kind: kind.clone(),
            lr: f64::from(kind.lr()),
            t: 0,
            params: params.iter().map(|t| t.iter().map(|&x| f64::from(x)).collect()).collect(),
            state: params
                .iter()
                .map(|t| [vec![init; t.len()], vec![0.0; t.len()], vec![0.0; t.len()]])
                .collect(),
        }
    }

    fn step(&mut self, grads: &[Vec<f32>]) {
        self.t += 1;
        let t = self.t;
        let lr = self.lr;
        for ((p, g), [s0, s1, s2]) in self.params.iter_mut().zip(grads).zip(&mut self.state) {
            for (j, (theta, &g)) in p.iter_mut().zip(g).enumerate() {
                let g = f64::from(g);
                match &self.kind {
                    DynOptimizer::Sgd(c) => {
                        // g = g + λθ; b = g (t = 1) or μ b + (1 - τ) g; g = g + μ b (Nesterov)
                        // or b; θ = θ - γ g
                        let (mu, tau) = (f64::from(c.momentum), f64::from(c.dampening));
                        let mut g = g + f64::from(c.weight_decay) * *theta;
                        if mu != 0.0 {
                            let b = &mut s0[j];
                            *b = if t > 1 { mu * *b + (1.0 - tau) * g } else { g };
                            g = if c.nesterov { g + mu * *b } else { *b };
                        }
                        *theta -= lr * g;
                    }
                    DynOptimizer::Adagrad(c) => {
                        // γ̃ = γ / (1 + (t - 1) η); g = g + λθ; sum += g²;
                        // θ = θ - γ̃ g / (sqrt(sum) + ε)
                        let clr = lr / (1.0 + f64::from(t - 1) * f64::from(c.lr_decay));
                        let g = g + f64::from(c.weight_decay) * *theta;
                        s0[j] += g * g;
                        *theta -= clr * g / (s0[j].sqrt() + f64::from(c.eps));
                    }
                    DynOptimizer::RmsProp(c) => {
                        // g = g + λθ; v = α v + (1 - α) g²; centred: ḡ = α ḡ + (1 - α) g,
                        // ṽ = v - ḡ²; momentum: b = μ b + g / (sqrt(ṽ) + ε), θ = θ - γ b;
                        // else θ = θ - γ g / (sqrt(ṽ) + ε)
                        let alpha = f64::from(c.alpha);
                        let g = g + f64::from(c.weight_decay) * *theta;
                        s0[j] = alpha * s0[j] + (1.0 - alpha) * g * g;
                        let mut v = s0[j];
                        if c.centered {
                            s1[j] = alpha * s1[j] + (1.0 - alpha) * g;
                            v -= s1[j] * s1[j];
                        }
                        let step = g / (v.sqrt() + f64::from(c.eps));
                        if c.momentum > 0.0 {
                            s2[j] = f64::from(c.momentum) * s2[j] + step;
                            *theta -= lr * s2[j];
                        } else {
                            *theta -= lr * step;
                        }
                    }
                    DynOptimizer::Adam(c, amsgrad) => {
                        // AdamW: θ = θ - γλθ; Adam: g = g + λθ; m = β1 m + (1 - β1) g;
                        // v = β2 v + (1 - β2) g²; AMSGrad: v_max = max(v_max, v);
                        // θ = θ - γ (m / (1 - β1^t)) / (sqrt(v or v_max / (1 - β2^t)) + ε)
                        let (b1, b2) = (f64::from(c.betas.0), f64::from(c.betas.1));
                        let wd = f64::from(c.weight_decay);
                        let g = if c.decoupled_weight_decay {
                            *theta -= lr * wd * *theta;
                            g
                        } else {
                            g + wd * *theta
                        };
                        s0[j] = b1 * s0[j] + (1.0 - b1) * g;
                        s1[j] = b2 * s1[j] + (1.0 - b2) * g * g;
                        let v = if *amsgrad {
                            s2[j] = s2[j].max(s1[j]);
                            s2[j]
                        } else {
                            s1[j]
                        };
                        let m_hat = s0[j] / (1.0 - b1.powi(t as i32));
                        let v_hat = v / (1.0 - b2.powi(t as i32));
                        *theta -= lr * m_hat / (v_hat.sqrt() + f64::from(c.eps));
                    }
                }
            }
        }
    }
}

/// Runs `typed` and `spec` (built as the host's runtime-shaped optimiser) side by side with
/// the f64 reference on the same parameters and gradients; checks after every step. `lr`
/// gives the typed optimiser's learning rate. Returns the reference's final parameters.
fn run<O: Optimizer<G>>(name: &str, seed: u64, mut typed: O, spec: DynOptimizer) -> Vec<Vec<f64>> {
    let mut model = Model::DEFAULT;
    model.init(&LayerInit::TORCH_DEFAULT, &mut Rng::new(seed));
    let mut tensors: Vec<Vec<f32>> = (0..G::TENSORS).map(|i| model.tensor(i).to_vec()).collect();
    let lens: Vec<usize> = tensors.iter().map(Vec::len).collect();
    assert_eq!(lens, [12, 4, 8, 2], "{name}: the model's tensors");
    let mut dynamic = spec.clone().build(&lens).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    let mut reference = Reference::new(&spec, &tensors);
    let mut rng = Rng::new(seed ^ 0x5eed);
    let mut grads = G::ZEROED;
    let mut worst = 0.0f64;
    for (step, &scale) in SCALES.iter().enumerate() {
        if step == LR_CHANGE_AT {
            let new = typed.lr() * LR_FACTOR;
            typed.set_lr(new).unwrap();
            dynamic.set_lr(new);
            reference.lr = f64::from(new);
        }
        for i in 0..G::TENSORS {
            for g in grads.tensor_mut(i) {
                *g = scale * rng.normal();
            }
        }
        let dgrads: Vec<Vec<f32>> = (0..G::TENSORS).map(|i| grads.tensor(i).to_vec()).collect();

        typed.step(&mut model, &grads);
        let mut views: Vec<&mut [f32]> = tensors.iter_mut().map(Vec::as_mut_slice).collect();
        dynamic.step(&mut views, &dgrads);
        reference.step(&dgrads);

        assert_eq!(typed.steps(), dynamic.steps, "{name}: step count after step {step}");
        for (i, (d, r)) in tensors.iter().zip(&reference.params).enumerate() {
            let s = model.tensor(i);
            // relative to the tensor's scale: an element near 0 keeps the absolute rounding
            // error of the larger values it passed through
            let span = r.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            assert_eq!(
                bits(s),
                bits(d),
                "{name}: typed vs runtime-shaped, tensor {i}, step {step}"
            );
            for (j, (&s, &r)) in s.iter().zip(r).enumerate() {
                let err = (f64::from(s) - r).abs() / span;
                assert!(
                    err <= TOLERANCE,
                    "{name}: typed {s} vs reference {r} (relative error {err:e}), tensor {i}[{j}], step {step}"
                );
                worst = worst.max(err);
            }
        }
    }
    if std::env::var_os("NEURITE_OPTIM_REPORT").is_some() {
        eprintln!("{name}: max relative error against the f64 reference {worst:e}");
    }
    reference.params
}

/// Largest difference between two parameter sets, relative to each tensor's scale.
fn max_relative_difference(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    let mut diff = 0.0f64;
    for (a, b) in a.iter().zip(b) {
        let scale = b.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        for (x, y) in a.iter().zip(b) {
            diff = diff.max((x - y).abs() / scale);
        }
    }
    diff
}

#[test]
fn sgd_every_option() {
    let mut seed = 100;
    for weight_decay in [0.0, 0.01] {
        for (momentum, dampening, nesterov) in
            // momentum 0 with dampening: no buffer, PyTorch's plain step (no momentum)
            [
                (0.0, 0.0, false),
                (0.0, 0.3, false),
                (0.9, 0.0, false),
                (0.9, 0.3, false),
                (0.9, 0.0, true),
            ]
        {
            seed += 1;
            let name = format!(
                "sgd wd {weight_decay} momentum {momentum} dampening {dampening} nesterov {nesterov}"
            );
            let spec = DynOptimizer::Sgd(SgdConfig {
                lr: LR,
                momentum,
                dampening,
                nesterov,
                weight_decay,
            });
            let cfg =
                SgdConfig { momentum, dampening, nesterov, weight_decay, ..SgdConfig::new(LR) };
            if momentum == 0.0 {
                run(&name, seed, Sgd::<G>::new(cfg).unwrap(), spec);
            } else {
                let typed = SgdMomentum::<G>::new(cfg).unwrap();
                run(&name, seed, typed, spec);
            }
        }
    }
}

#[test]
fn adagrad_every_option() {
    // every subset of the four options
    for mask in 0u64..16 {
        let lr_decay = if mask & 1 != 0 { 0.01 } else { 0.0 };
        let initial_accumulator_value = if mask & 2 != 0 { 0.1 } else { 0.0 };
        let weight_decay = if mask & 4 != 0 { 0.01 } else { 0.0 };
        // eps 1e-2 moves the result well past the tolerance; 1e-6 would hide in it
        let eps = if mask & 8 != 0 { 1e-2 } else { 1e-10 };
        let name = format!(
            "adagrad lr_decay {lr_decay} initial_accumulator_value {initial_accumulator_value} \
             wd {weight_decay} eps {eps:e}"
        );
        let spec = DynOptimizer::Adagrad(AdagradConfig {
            lr: LR,
            lr_decay,
            weight_decay,
            initial_accumulator_value,
            eps,
        });
        let typed = Adagrad::<G>::new(AdagradConfig {
            lr_decay,
            weight_decay,
            initial_accumulator_value,
            eps,
            ..AdagradConfig::new(LR)
        })
        .unwrap();
        run(&name, 200 + mask, typed, spec);
    }
}

#[test]
fn rmsprop_every_option() {
    let mut seed = 300;
    for (alpha, eps) in [(0.99, 1e-8), (0.9, 1e-2)] {
        for weight_decay in [0.0, 0.01] {
            // plain, momentum, centred, both (twice, from two seeds: once the two orders of
            // the builders that have since gone; the seeds of every case stay as they were)
            for variant in 0..5 {
                seed += 1;
                let momentum = if matches!(variant, 1 | 3 | 4) { 0.9 } else { 0.0 };
                let centered = matches!(variant, 2..=4);
                let name = format!(
                    "rmsprop alpha {alpha} eps {eps:e} wd {weight_decay} momentum {momentum} \
                     centered {centered} (variant {variant})"
                );
                let spec = DynOptimizer::RmsProp(RmsPropConfig {
                    lr: LR,
                    alpha,
                    eps,
                    weight_decay,
                    momentum,
                    centered,
                });
                // the typed side goes through the config constructor
                let cfg = RmsPropConfig {
                    alpha,
                    eps,
                    weight_decay,
                    momentum,
                    centered,
                    ..RmsPropConfig::new(LR)
                };
                match variant {
                    0 => {
                        let typed = RmsProp::<G>::new(cfg).unwrap();
                        run(&name, seed, typed, spec)
                    }
                    1 => {
                        let typed = RmsPropMomentum::<G>::new(cfg).unwrap();
                        run(&name, seed, typed, spec)
                    }
                    2 => {
                        let typed = RmsPropCentered::<G>::new(cfg).unwrap();
                        run(&name, seed, typed, spec)
                    }
                    _ => {
                        let typed = RmsProp::<G, On<G>, On<G>>::new(cfg).unwrap();
                        run(&name, seed, typed, spec)
                    }
                };
            }
        }
    }
}

#[test]
fn adam_adamw_amsgrad_every_option() {
    let mut seed = 400;
    for (betas, eps) in [((0.9, 0.999), 1e-8), ((0.8, 0.95), 1e-2)] {
        // Adam, Adam with L2 weight decay, AdamW (decoupled weight decay)
        for (weight_decay, decoupled) in [(0.0, false), (0.01, false), (0.01, true)] {
            seed += 1;
            let name =
                format!("adam betas {betas:?} eps {eps:e} wd {weight_decay} decoupled {decoupled}");
            let spec = |amsgrad| {
                let cfg = AdamConfig {
                    lr: LR,
                    betas,
                    eps,
                    weight_decay,
                    decoupled_weight_decay: decoupled,
                    amsgrad,
                };
                DynOptimizer::Adam(cfg, amsgrad)
            };
            // the typed side goes through the config constructors
            let cfg = if decoupled {
                AdamConfig { betas, eps, weight_decay, ..AdamConfig::adamw(LR) }
            } else {
                AdamConfig { betas, eps, weight_decay, ..AdamConfig::adam(LR) }
            };
            let typed = Adam::<G>::new(cfg).unwrap();
            let plain = run(&name, seed, typed, spec(false));
            let name = format!("{name} amsgrad");
            let typed = AmsGrad::<G>::new(AdamConfig { amsgrad: true, ..cfg }).unwrap();
            let amsgrad = run(&name, seed, typed, spec(true));
            // Same start, same gradients: the running maximum has to have mattered, or the
            // AMSGrad case would prove nothing.
            let diff = max_relative_difference(&amsgrad, &plain);
            assert!(diff > 10.0 * TOLERANCE, "{name}: the maximum never mattered ({diff:e})");
            if std::env::var_os("NEURITE_OPTIM_REPORT").is_some() {
                eprintln!("{name}: AMSGrad moves the parameters by {diff:e}");
            }
        }
    }
}

#[test]
fn l1_adds_lambda_times_the_sign_and_nothing_at_zero() {
    // The subgradient of lambda * |p|: +lambda, -lambda, and 0 at p = 0 (PyTorch's sign(0)).
    let mut g = [0.5f32, 0.5, 0.5, 0.5];
    neurite::optim::add_l1(&mut g, &[2.0, -3.0, 0.0, -0.0], 0.25);
    assert_eq!(g, [0.75, 0.25, 0.5, 0.5]);
}

#[test]
fn the_runtime_shaped_state_reports_the_rate_it_steps_with() {
    let mut state = DynOptimizer::Sgd(SgdConfig::new(0.1)).build(&[3]).expect("valid");
    assert_eq!(state.lr(), 0.1);
    state.set_lr(0.025);
    assert_eq!(state.lr(), 0.025);
}
