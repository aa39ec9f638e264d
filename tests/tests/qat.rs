//! Quantisation-aware training: the fake-quantisation ops compute and differentiate as
//! documented (`host/src/dynamic/layers/fake_quant.rs`), and a QAT-trained model's int8
//! graph, run by the integer kernels, computes what the fake-quantised float model computed
//! during training: outputs within one output quantisation step, the same class on every
//! test row.

use neurite_host::data::Dataset;
use neurite_host::dynamic::layers::fake_quant::{
    fake_quantize_weights, FakeQuant, QuantizedWeights,
};
use neurite_host::dynamic::{parse_spec, Ctx, DynModel, Op, Saved};
use neurite_host::fit::{train, train_from, TrainConfig};
use neurite_host::predictor::Predictor;
use neurite_host::quantize::{quantize, Calibration};
use std::path::Path;

fn digits() -> (Dataset, Dataset) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../host/data/digits.csv");
    Dataset::load_csv(&path, None).unwrap().canonical_split()
}

#[test]
fn fake_quant_rounds_forward_and_passes_gradients_inside_its_range() {
    let f = FakeQuant::new(&[6], (-1.0, 2.0)).unwrap();
    let q = f.affine();
    // a training-only op of the sample's shape whose buffer is its range (what quantize reads)
    assert_eq!((f.input_shape(), f.output_shape()), (&[6][..], &[6][..]));
    assert!(f.training_only() && f.attrs().0.is_empty() && f.params().is_empty());
    assert_eq!((f.kind().name, f.buffers()[0].values), ("fake_quant", &[-1.0, 2.0][..]));
    assert!(FakeQuant::new(&[6], (2.0, -1.0)).is_none());
    let x = [-3.0f32, -1.0, 0.013, 0.5, 1.999, 9.0];
    let mut y = [0.0; 6];
    f.forward(&neurite_host::dynamic::backend::DEFAULT, &x, &mut y, 1);
    for (y, x) in y.iter().zip(x) {
        assert_eq!(*y, q.dequantize(q.quantize(x)), "{x}");
    }
    assert_eq!(y[0], q.dequantize(-128));
    assert_eq!(y[5], q.dequantize(127));
    let ctx = Ctx { train: true, rng: None, backend: &neurite_host::dynamic::backend::DEFAULT };
    let mut dx = [9.0; 6];
    f.backward(
        &ctx,
        &x,
        &y,
        &mut Saved::default(),
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        Some(&mut dx),
        &mut [],
        1,
    );
    // clipped below and above: no gradient; inside: straight through
    assert_eq!(dx, [0.0, 2.0, 3.0, 4.0, 5.0, 0.0]);
}

#[test]
fn quantized_weights_compute_with_quantised_weights_and_train_the_float_ones() {
    let model = DynModel::build(&parse_spec("dense(3)").unwrap(), &[4]).unwrap();
    let mut dense = model.layers[0].clone();
    let w = [0.30f32, -0.11, 0.07, 0.5, 1.0, 0.2, -0.3, 0.0, 0.0, 0.0, 0.0, 0.0];
    dense.params_mut()[0].copy_from_slice(&w);
    dense.params_mut()[1].copy_from_slice(&[0.1, -0.2, 0.3]);
    let mut wrapped = QuantizedWeights::new(dense.clone());
    assert_eq!(wrapped.params()[0].values, &w, "the parameters are the float weights");
    let mut quantised = [0.0; 12];
    fake_quantize_weights(&w, 3, &mut quantised);
    assert_ne!(quantised, w);
    // per channel: row 0's largest |w| is 0.5, so 0.07 -> round(0.07 * 254) / 254
    assert_eq!(quantised[2], (0.07f32 / (0.5 / 127.0)).round() * (0.5 / 127.0));
    assert_eq!(&quantised[8..], &[0.0; 4], "an all-zero channel stays zero");
    // its scale is 1, not 0 (a TFLite scale must be positive)
    let scales = neurite_host::dynamic::layers::fake_quant::channel_scales(&w, 3);
    assert_eq!(scales, [0.5 / 127.0, 1.0 / 127.0, 1.0]);
    assert_eq!(wrapped.attrs(), dense.attrs(), "the wrapped layer's options");
    let mut reference = dense.clone();
    reference.params_mut()[0].copy_from_slice(&quantised);
    let x = [0.5f32, -1.0, 2.0, 0.25];
    let (mut got, mut want) = ([0.0; 3], [0.0; 3]);
    let be = &neurite_host::dynamic::backend::DEFAULT;
    wrapped.forward(be, &x, &mut got, 1);
    reference.forward(be, &x, &mut want, 1);
    assert_eq!(got, want);
    let mut ctx = Ctx { train: true, rng: None, backend: be };
    let mut saved = Saved::default();
    got = [0.0; 3];
    wrapped.forward_train(&mut ctx, &x, &mut got, 1, &mut saved);
    assert_eq!(got, want);
    assert_eq!(wrapped.macs(), dense.macs());
    // the weight gradient is the quantised layer's, applied to the float weights
    let mut grads = vec![vec![0.0; 12], vec![0.0; 3]];
    wrapped.backward(&ctx, &x, &got, &mut saved, &[1.0, 0.0, -1.0], None, &mut grads, 1);
    assert_eq!(&grads[0][..4], &x);
    wrapped.params_mut()[0][0] = 0.31;
    assert_eq!(wrapped.params()[0].values[0], 0.31);
}

#[test]
fn a_qat_models_int8_graph_computes_what_its_training_simulated() {
    let (tr, te) = digits();
    let mut cfg = TrainConfig::digits_demo(10);
    cfg.layers = parse_spec("dense(32),relu,dense(10)").unwrap();
    let trained = train(&cfg, &tr, &te, |_| {}).unwrap();
    let rows: Vec<&[f32]> = (0..tr.len()).map(|i| tr.row(i)).collect();
    let model = neurite_host::qat::prepare(&trained.saved, &rows).unwrap();
    cfg.epochs = 3;
    cfg.optimizer = cfg.optimizer.with_lr(0.001);
    let tuned = train_from(&cfg, model, &tr, &te, |_| {}).unwrap();
    let int8 = quantize(&tuned.saved, &rows, Calibration::Mse).unwrap();
    let step = int8.output().scale;
    let mut worst = 0.0f32;
    for i in 0..te.len() {
        let simulated = tuned.saved.predict(te.row(i));
        let integer = int8.scores(te.row(i));
        for (s, q) in simulated.iter().zip(&integer) {
            worst = worst.max((s - q).abs() / step);
        }
        let argmax = neurite::kernel::reduce::argmax;
        assert_eq!(argmax(&simulated), argmax(&integer), "test row {i}");
    }
    println!("largest difference: {worst} output steps");
    assert!(worst <= 1.001, "{worst} output steps");
}
