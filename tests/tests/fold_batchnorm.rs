//! `neurite_host::fold::fold_batchnorm`: a conv or dense layer followed by a batch norm
//! becomes one layer for inference, with the same eval outputs up to rounding.

use neurite::init::LayerInit;
use neurite::rng::Rng;
use neurite_host::dynamic::{parse_spec, spec_string, DynModel};
use neurite_host::fold::fold_batchnorm;

const SPEC: &str = "conv2d(4,3,padding=1),batchnorm2d,relu,maxpool2d(2),\
    residual(conv2d(4,3,padding=1,bias=false),batchnorm2d),flatten,dense(8),batchnorm1d,tanh,\
    dense(3)";

/// Largest `max_i |a_i - b_i| / max_i |a_i|` over the inputs (the error relative to the
/// output's scale, so that outputs near zero do not blow it up).
fn max_rel_diff(a: &DynModel, b: &DynModel, inputs: &[Vec<f32>]) -> f32 {
    let mut worst = 0.0f32;
    for x in inputs {
        let (ya, yb) = (a.forward(x), b.forward(x));
        assert_eq!(ya.len(), yb.len());
        let scale = ya.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(f32::MIN_POSITIVE);
        let diff = ya.iter().zip(&yb).fold(0.0f32, |m, (p, q)| m.max((p - q).abs()));
        assert!(diff.is_finite(), "non-finite output: {ya:?} vs {yb:?}");
        worst = worst.max(diff / scale);
    }
    worst
}

fn random_inputs(model: &DynModel, n: usize, rng: &mut Rng) -> Vec<Vec<f32>> {
    (0..n).map(|_| (0..model.inputs()).map(|_| rng.uniform_range(-1.0, 1.0)).collect()).collect()
}

/// Indices, in `tensors_mut()` order, of every batch norm's `weight` (gamma) and `bias`
/// (beta), composite bodies included.
fn batchnorm_tensor_indices(model: &DynModel, offset: &mut usize, out: &mut Vec<usize>) {
    for layer in &model.layers {
        if layer.kind().name.starts_with("batchnorm") {
            out.extend([*offset, *offset + 1]);
            *offset += layer.params().len();
        } else if let Some(body) = layer.body() {
            batchnorm_tensor_indices(body, offset, out);
        } else {
            *offset += layer.params().len();
        }
    }
}

fn layer_names(model: &DynModel, out: &mut Vec<&'static str>) {
    for layer in &model.layers {
        out.push(layer.kind().name);
        if let Some(body) = layer.body() {
            layer_names(body, out);
        }
    }
}

/// Initialised weights, then non-trivial gamma, beta and running statistics.
fn with_batchnorm_state(spec: &str, input: &[usize], seed: u64) -> DynModel {
    let mut model = DynModel::build(&parse_spec(spec).unwrap(), input).unwrap();
    model.init(&LayerInit::HE_RELU, &mut Rng::new(seed));
    let mut rng = Rng::new(seed + 100);
    let mut bn = Vec::new();
    batchnorm_tensor_indices(&model, &mut 0, &mut bn);
    assert!(!bn.is_empty());
    for (i, t) in model.tensors_mut().into_iter().enumerate() {
        if let Some(k) = bn.iter().position(|&j| j == i) {
            for v in t.iter_mut() {
                *v = if k % 2 == 0 {
                    // gamma: either sign, magnitude in [0.5, 1.5)
                    let g = rng.uniform_range(0.5, 1.5);
                    if rng.uniform() < 0.3 {
                        -g
                    } else {
                        g
                    }
                } else {
                    rng.uniform_range(-0.5, 0.5) // beta
                };
            }
        }
    }
    for (k, t) in model.buffers_mut().into_iter().enumerate() {
        for v in t.iter_mut() {
            *v = if k % 2 == 0 {
                rng.uniform_range(-0.3, 0.3) // running_mean
            } else {
                // running_var, from 0.01 to 2: small variances make eps matter
                if rng.uniform() < 0.3 {
                    rng.uniform_range(0.01, 0.05)
                } else {
                    rng.uniform_range(0.2, 2.0)
                }
            };
        }
    }
    model
}

#[test]
fn folded_model_matches_eval_outputs() {
    let model = with_batchnorm_state(SPEC, &[1, 8, 8], 1);
    let folded = fold_batchnorm(&model).unwrap();

    let mut names = Vec::new();
    layer_names(&folded, &mut names);
    assert!(!names.iter().any(|n| n.starts_with("batchnorm")), "{names:?}");
    // the residual body's conv gains a bias
    assert_eq!(
        spec_string(&folded.nodes()),
        "conv2d(4,3,padding=1),relu,maxpool2d(2),residual(conv2d(4,3,padding=1)),flatten,\
         dense(8),tanh,dense(3)"
    );
    assert_eq!(folded.buffer_count(), 0);
    let before = model.param_count() + model.buffer_count();
    let after = folded.param_count() + folded.buffer_count();
    assert!(after < before, "{after} >= {before}");
    // conv 4*9+4, conv 4*4*9 + 4 (new bias), dense 64*8+8, dense 8*3+3
    assert_eq!(after, 40 + 148 + 520 + 27);
    // the input model is untouched
    assert_eq!(model.buffer_count(), 4 + 4 + 4 + 4 + 8 + 8);

    let inputs = random_inputs(&model, 20, &mut Rng::new(7));
    let diff = max_rel_diff(&model, &folded, &inputs);
    // Measured: 1.92e-6 (rounding only). Planted bugs measured 3.1e-3 (eps left out), 4.5e-2
    // (conv bias left out), 0.91 (beta left out), 0.92 (mean left out), 1.49 (gamma left out).
    assert!(diff <= 1e-5, "max relative difference {diff:e}");
}

#[test]
fn conv1d_with_custom_eps_folds() {
    let model =
        with_batchnorm_state("conv1d(3,3,bias=false),batchnorm1d(eps=0.01),relu", &[2, 10], 3);
    let folded = fold_batchnorm(&model).unwrap();
    assert_eq!(spec_string(&folded.nodes()), "conv1d(3,3),relu");
    let inputs = random_inputs(&model, 20, &mut Rng::new(8));
    let diff = max_rel_diff(&model, &folded, &inputs);
    // Measured: 3.68e-7; 2.6e-2 with eps left out.
    assert!(diff <= 1e-5, "max relative difference {diff:e}");
}

#[test]
fn dense_over_rank2_samples_is_left_alone() {
    // dense acts on the last axis ([2, 5] -> [2, 3]); batchnorm1d normalises the first (2
    // channels): not the dense's outputs, so nothing folds.
    let model = with_batchnorm_state("dense(3),batchnorm1d", &[2, 5], 5);
    let folded = fold_batchnorm(&model).unwrap();
    assert_eq!(folded, model);
}
