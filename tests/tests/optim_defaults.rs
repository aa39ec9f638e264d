//! The optimiser defaults the core's config constructors and the golden runner claim to take
//! from PyTorch, compared with PyTorch's documented defaults (`torch.optim`, 2.x):
//!
//! - `SGD(lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False)`
//! - `Adagrad(lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10)`
//! - `RMSprop(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False)`
//! - `Adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False)`
//! - `AdamW(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False)`
//!
//! The constructors take the learning rate, so only the golden runner (where an option left
//! out takes PyTorch's default) has a default learning rate.

use neurite::layer::Dense;
use neurite::optim::{
    Adagrad, AdagradConfig, Adam, AdamConfig, RmsProp, RmsPropConfig, Sgd, SgdConfig,
};
use neurite_host::dynamic::DynOptimizer;
use neurite_tests::golden::build_optimizer;
use serde_json::json;

type Grads = <Dense<2, 3> as neurite::layer::Layer>::Grads;

/// A learning rate no default has, to see that the constructors keep the one given.
const LR: f32 = 0.123;

fn sgd_defaults(lr: f32) -> SgdConfig {
    SgdConfig { lr, momentum: 0.0, dampening: 0.0, nesterov: false, weight_decay: 0.0 }
}

fn adagrad_defaults(lr: f32) -> AdagradConfig {
    AdagradConfig {
        lr,
        lr_decay: 0.0,
        weight_decay: 0.0,
        initial_accumulator_value: 0.0,
        eps: 1e-10,
    }
}

fn rmsprop_defaults(lr: f32) -> RmsPropConfig {
    RmsPropConfig { lr, alpha: 0.99, eps: 1e-8, weight_decay: 0.0, momentum: 0.0, centered: false }
}

fn adam_defaults(lr: f32) -> AdamConfig {
    AdamConfig {
        lr,
        betas: (0.9, 0.999),
        eps: 1e-8,
        weight_decay: 0.0,
        decoupled_weight_decay: false,
        amsgrad: false,
    }
}

fn adamw_defaults(lr: f32) -> AdamConfig {
    AdamConfig { weight_decay: 0.01, decoupled_weight_decay: true, ..adam_defaults(lr) }
}

#[test]
fn config_constructors_take_pytorch_defaults() {
    assert_eq!(SgdConfig::new(LR), sgd_defaults(LR), "SgdConfig::new");
    assert_eq!(AdagradConfig::new(LR), adagrad_defaults(LR), "AdagradConfig::new");
    assert_eq!(RmsPropConfig::new(LR), rmsprop_defaults(LR), "RmsPropConfig::new");
    assert_eq!(AdamConfig::adam(LR), adam_defaults(LR), "AdamConfig::adam");
    assert_eq!(AdamConfig::adamw(LR), adamw_defaults(LR), "AdamConfig::adamw");
}

#[test]
fn typed_optimisers_keep_the_defaults() {
    let sgd = Sgd::<Grads>::new(SgdConfig::new(LR)).unwrap();
    assert_eq!(*sgd.config(), sgd_defaults(LR), "Sgd::new");
    let adagrad = Adagrad::<Grads>::new(AdagradConfig::new(LR)).unwrap();
    assert_eq!(*adagrad.config(), adagrad_defaults(LR), "Adagrad::new");
    let rms = RmsProp::<Grads>::new(RmsPropConfig::new(LR)).unwrap();
    assert_eq!(*rms.config(), rmsprop_defaults(LR), "RmsProp::new");
    let adam = Adam::<Grads>::new(AdamConfig::adam(LR)).unwrap();
    assert_eq!(*adam.config(), adam_defaults(LR), "Adam");
    let adamw = Adam::<Grads>::new(AdamConfig::adamw(LR)).unwrap();
    assert_eq!(*adamw.config(), adamw_defaults(LR), "AdamW");
}

/// The golden runner: an optimiser given by its name alone is PyTorch's default one
/// (learning rate included), without AMSGrad.
#[test]
fn golden_runner_fills_in_pytorch_defaults() {
    let by_name = |name: &str| {
        let o = json!({ "name": name });
        build_optimizer(o.as_object().unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    assert_eq!(by_name("sgd"), DynOptimizer::Sgd(sgd_defaults(1e-3)));
    assert_eq!(by_name("adagrad"), DynOptimizer::Adagrad(adagrad_defaults(1e-2)));
    assert_eq!(by_name("rmsprop"), DynOptimizer::RmsProp(rmsprop_defaults(1e-2)));
    assert_eq!(by_name("adam"), DynOptimizer::Adam(adam_defaults(1e-3), false));
    assert_eq!(by_name("adamw"), DynOptimizer::Adam(adamw_defaults(1e-3), false));
}
