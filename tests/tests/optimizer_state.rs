//! The optimiser's state saved with the model (a version-3 model file) and restored into a
//! fresh optimiser: training resumes bit for bit, for every typed optimiser and option.
//!
//! Each case trains a small typed model for `STEPS` optimiser steps on pseudo-random
//! gradients whose scale changes from step to step (second moments grow and shrink, AMSGrad's
//! maximum matters), with a learning-rate change at step `LR_CHANGE_AT` (a schedule). The
//! same run is interrupted after every step `k`: the model and optimiser are saved with
//! `save_typed_with_optimizer`, dropped, and loaded into a fresh model and a fresh optimiser
//! built with another learning rate (what a reboot has: the firmware's constants); the rest of
//! the run must end with the uninterrupted run's parameters, bit for bit. A fresh optimiser
//! on the saved weights alone (the state lost) must not, so the state is what the test sees.

use neurite::layer::{Dense, Infer, Layer, Tanh};
use neurite::model_file::v2::ModelFileV2;
use neurite::model_file::{
    crc32, load_typed, load_typed_with_optimizer, save_typed, save_typed_with_optimizer, Task,
};
use neurite::optim::{
    Adagrad, AdagradConfig, Adam, AdamConfig, AmsGrad, On, Optimizer, OptimizerState, RmsProp,
    RmsPropCentered, RmsPropConfig, RmsPropMomentum, Sgd, SgdConfig, SgdMomentum,
};
use neurite::prelude::{Error, LayerInit, Params, Rng, Zeroed};

type Model = neurite::Seq![Dense<3, 4>, Tanh<4>, Dense<4, 2>];
type G = <Model as Layer>::Grads;

const STEPS: usize = 8;
const SCALES: [f32; STEPS] = [1.0, 0.3, 2.0, 0.05, 1.5, 0.01, 0.8, 0.2];
const LR_CHANGE_AT: usize = 3;
/// Learning rate of the optimiser that receives the saved state (the state's wins).
const OTHER_LR: f32 = 0.5;

fn start() -> Model {
    let mut m = Model::DEFAULT;
    m.init(&LayerInit::XAVIER, &mut Rng::new(5));
    m
}

fn grads(step: usize) -> G {
    let mut g = G::ZEROED;
    let mut rng = Rng::new(1000 + step as u64);
    for t in 0..G::TENSORS {
        for v in g.tensor_mut(t) {
            *v = rng.normal() * SCALES[step];
        }
    }
    g
}

fn bits(m: &Model) -> Vec<u32> {
    (0..Model::TENSORS).flat_map(|t| m.tensor(t).iter().map(|v| v.to_bits())).collect()
}

/// Steps `from..to` of the run.
fn run<O: Optimizer<G>>(m: &mut Model, o: &mut O, from: usize, to: usize) {
    for s in from..to {
        if s == LR_CHANGE_AT {
            o.set_lr(o.lr() * 0.3).unwrap();
        }
        o.step(m, &grads(s));
    }
}

fn saved<O: OptimizerState<G>>(m: &Model, o: &O) -> Vec<u8> {
    let mut file = vec![0u8; 4096];
    let n = save_typed_with_optimizer(m, o, Task::Regression, &mut file).unwrap();
    file.truncate(n);
    file
}

fn resumes_bit_for_bit<O: OptimizerState<G>>(name: &str, new: impl Fn(f32) -> O) {
    let lr = 0.05;
    let (mut whole, mut o) = (start(), new(lr));
    run(&mut whole, &mut o, 0, STEPS);
    let expected = bits(&whole);
    for k in 1..STEPS {
        let (mut m, mut o) = (start(), new(lr));
        run(&mut m, &mut o, 0, k);
        let file = saved(&m, &o);
        let hyper = o.hyper_parameters();
        drop((m, o));
        // the reboot
        let mut resumed = new(OTHER_LR);
        let mut m: Model = load_typed_with_optimizer(&file, &mut resumed).unwrap();
        assert_eq!(resumed.steps() as usize, k, "{name}");
        assert_eq!(resumed.hyper_parameters(), hyper, "{name}: hyper-parameters after {k} steps");
        run(&mut m, &mut resumed, k, STEPS);
        assert_eq!(bits(&m), expected, "{name}: resumed after {k} steps");
        // without the state: a fresh optimiser on the saved weights goes elsewhere
        let mut lost = new(lr);
        if k > LR_CHANGE_AT {
            lost.set_lr(lr * 0.3).unwrap();
        }
        let mut m: Model = load_typed(&file).unwrap();
        run(&mut m, &mut lost, k, STEPS);
        if O::BUFFERS > 0 || name.starts_with("adagrad") {
            assert_ne!(bits(&m), expected, "{name}: the state made no difference at {k}");
        }
    }
}

#[test]
fn every_optimizer_resumes_bit_for_bit() {
    resumes_bit_for_bit("sgd", |lr| Sgd::<G>::new(SgdConfig::new(lr)).unwrap());
    let wd = |lr| SgdConfig { weight_decay: 0.01, ..SgdConfig::new(lr) };
    resumes_bit_for_bit("sgd weight decay", |lr| Sgd::<G>::new(wd(lr)).unwrap());
    let momentum = |lr| SgdConfig { momentum: 0.9, dampening: 0.1, ..SgdConfig::new(lr) };
    resumes_bit_for_bit("sgd momentum", |lr| SgdMomentum::<G>::new(momentum(lr)).unwrap());
    let nesterov = |lr| SgdConfig { momentum: 0.8, nesterov: true, ..SgdConfig::new(lr) };
    resumes_bit_for_bit("sgd nesterov", |lr| SgdMomentum::<G>::new(nesterov(lr)).unwrap());
    let adagrad = |lr| AdagradConfig {
        lr_decay: 0.01,
        initial_accumulator_value: 0.1,
        ..AdagradConfig::new(lr)
    };
    resumes_bit_for_bit("adagrad", |lr| Adagrad::<G>::new(adagrad(lr)).unwrap());
    resumes_bit_for_bit("rmsprop", |lr| RmsProp::<G>::new(RmsPropConfig::new(lr)).unwrap());
    let rms_m = |lr| RmsPropConfig { momentum: 0.9, ..RmsPropConfig::new(lr) };
    resumes_bit_for_bit("rmsprop momentum", |lr| RmsPropMomentum::<G>::new(rms_m(lr)).unwrap());
    let rms_c = |lr| RmsPropConfig { centered: true, alpha: 0.9, ..RmsPropConfig::new(lr) };
    resumes_bit_for_bit("rmsprop centred", |lr| RmsPropCentered::<G>::new(rms_c(lr)).unwrap());
    let both = |lr| RmsPropConfig { centered: true, momentum: 0.5, ..RmsPropConfig::new(lr) };
    resumes_bit_for_bit("rmsprop centred momentum", |lr| {
        RmsProp::<G, On<G>, On<G>>::new(both(lr)).unwrap()
    });
    resumes_bit_for_bit("adam", |lr| Adam::<G>::new(AdamConfig::adam(lr)).unwrap());
    resumes_bit_for_bit("adamw", |lr| Adam::<G>::new(AdamConfig::adamw(lr)).unwrap());
    let ams = |lr| AdamConfig { amsgrad: true, weight_decay: 0.01, ..AdamConfig::adam(lr) };
    resumes_bit_for_bit("amsgrad", |lr| AmsGrad::<G>::new(ams(lr)).unwrap());
}

fn adam_file() -> (Vec<u8>, Model, Adam<G>) {
    let (mut m, mut o) = (start(), Adam::<G>::new(AdamConfig::adam(0.05)).unwrap());
    run(&mut m, &mut o, 0, 4);
    (saved(&m, &o), m, o)
}

/// Everything an optimiser shows: hyper-parameters, steps and state.
fn snapshot<O: OptimizerState<G>>(o: &O) -> (Vec<f32>, u32, Vec<u32>) {
    let state = o.state_tensors().flat_map(|t| t.iter().map(|v| v.to_bits())).collect();
    (o.hyper_parameters().values().to_vec(), o.steps(), state)
}

#[test]
fn another_optimizer_or_a_missing_state_is_refused_and_nothing_changes() {
    let (file, _, adam) = adam_file();
    let parsed = ModelFileV2::parse(&file).unwrap();
    let saved = parsed.optimizer().unwrap();
    assert_eq!((saved.record.name, saved.steps, saved.state.len()), ("adam", 4, 2 * 26));
    assert_eq!(parsed.record_count(), 3);
    let mismatch = Err(Error::ArchitectureMismatch { layer: 3 });

    fn refused<O: OptimizerState<G>>(file: &[u8], mut o: O, expected: Result<Model, Error>) {
        let before = snapshot(&o);
        assert_eq!(load_typed_with_optimizer::<Model, O>(file, &mut o).err(), expected.err());
        assert_eq!(snapshot(&o), before, "{} changed", O::NAME);
    }
    // another optimiser (name), another state size (AMSGrad's third buffer)
    refused(&file, RmsProp::<G>::new(RmsPropConfig::new(0.1)).unwrap(), mismatch.clone());
    refused(&file, Sgd::<G>::new(SgdConfig::new(0.1)).unwrap(), mismatch.clone());
    let ams = AdamConfig { amsgrad: true, ..AdamConfig::adam(0.1) };
    refused(&file, AmsGrad::<G>::new(ams).unwrap(), mismatch.clone());
    // a model file without optimiser state (version 2)
    let mut plain = vec![0u8; 1024];
    let n = save_typed(&start(), Task::Regression, &mut plain).unwrap();
    refused(&plain[..n], Adam::<G>::new(AdamConfig::adam(0.1)).unwrap(), mismatch.clone());
    // another model: refused by the model's check first
    type Wide = neurite::Seq![Dense<3, 5>, Tanh<5>, Dense<5, 2>];
    let mut o = Adam::<<Wide as Layer>::Grads>::new(AdamConfig::adam(0.1)).unwrap();
    assert!(load_typed_with_optimizer::<Wide, _>(&file, &mut o).is_err());
    assert_eq!(o.steps(), 0);

    // hyper-parameters the type refuses: the AMSGrad flag set (no third buffer in `Adam<G>`),
    // a beta of 1; the file's CRC recomputed, so only the value is wrong
    let hyper = |name: &str, value: f32| {
        let f = ModelFileV2::parse(&file).unwrap();
        let r = f.optimizer().unwrap().record;
        let mut at = None;
        let key = name.as_bytes();
        let start = file.len() - 4 - 4 * r.buffers - 1;
        // the option's key, then type 0 and count 1, then the value
        for i in (0..start).rev() {
            if file[i..].starts_with(key) && file[i - 1] as usize == key.len() {
                at = Some(i + key.len() + 2);
                break;
            }
        }
        let at = at.expect("option in the file");
        let mut bad = file.clone();
        bad[at..at + 4].copy_from_slice(&value.to_le_bytes());
        let n = bad.len();
        let crc = crc32(&bad[..n - 4]);
        bad[n - 4..].copy_from_slice(&crc.to_le_bytes());
        bad
    };
    let invalid = Err(Error::InvalidHyperParameter);
    refused(
        &hyper("amsgrad", 1.0),
        Adam::<G>::new(AdamConfig::adam(0.1)).unwrap(),
        invalid.clone(),
    );
    refused(&hyper("beta2", 1.0), Adam::<G>::new(AdamConfig::adam(0.1)).unwrap(), invalid.clone());
    refused(&hyper("amsgrad", 0.5), Adam::<G>::new(AdamConfig::adam(0.1)).unwrap(), invalid);
    // and the untouched file restores everything
    let mut fresh = Adam::<G>::new(AdamConfig::adam(0.1)).unwrap();
    let _: Model = load_typed_with_optimizer(&file, &mut fresh).unwrap();
    assert_eq!(snapshot(&fresh), snapshot(&adam));
}

#[test]
fn every_corrupted_byte_and_every_truncation_is_refused() {
    let (file, _, _) = adam_file();
    assert_eq!(neurite::model_file::v2::version_of(&file), Some(3));
    for i in 0..file.len() {
        for flip in [0x01, 0x80] {
            let mut bad = file.clone();
            bad[i] ^= flip;
            assert!(ModelFileV2::parse(&bad).is_err(), "byte {i} ^ {flip:#x} accepted");
        }
    }
    for n in 0..file.len() {
        assert!(ModelFileV2::parse(&file[..n]).is_err(), "length {n} accepted");
    }
    // a NaN in the state, with a valid CRC
    let mut bad = file.clone();
    let n = bad.len();
    bad[n - 8..n - 4].copy_from_slice(&f32::NAN.to_le_bytes());
    let crc = crc32(&bad[..n - 4]);
    bad[n - 4..].copy_from_slice(&crc.to_le_bytes());
    assert!(matches!(ModelFileV2::parse(&bad), Err(Error::NonFinite { .. })));
}

#[test]
fn the_model_part_reads_as_before_and_the_host_reads_the_file() {
    let (file, model, _) = adam_file();
    // the parameters as in a version-2 file of the same model
    let mut plain = vec![0u8; 1024];
    let n = save_typed(&model, Task::Regression, &mut plain).unwrap();
    let v2 = ModelFileV2::parse(&plain[..n]).unwrap();
    let v3 = ModelFileV2::parse(&file).unwrap();
    assert_eq!(v2.params().collect::<Vec<_>>(), v3.params().collect::<Vec<_>>());
    assert_eq!(v2.records().collect::<Vec<_>>(), v3.records().collect::<Vec<_>>());
    assert!(v2.optimizer().is_none());
    assert_eq!(bits(&load_typed::<Model>(&file).unwrap()), bits(&model));
    // the desktop's loader: the same predictions from either file
    let host_v2 = neurite_host::model_io::SavedModel::from_bytes(&plain[..n]).unwrap();
    let host_v3 = neurite_host::model_io::SavedModel::from_bytes(&file).unwrap();
    let x = [0.3, -1.2, 0.7];
    let mut y = [0.0; 2];
    model.forward(&x, &mut y);
    assert_eq!(host_v3.predict(&x), host_v2.predict(&x));
    assert_eq!(host_v3.predict(&x), y.to_vec());
}
