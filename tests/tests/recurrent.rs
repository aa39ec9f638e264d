//! The recurrent layers (`neurite::layer::{Rnn, Gru, Lstm}`) against PyTorch, and streaming
//! against the whole sequence.
//!
//! `tests/pytorch/recurrent_reference.json` (from `tests/pytorch/make_recurrent_reference.py`):
//! `nn.RNN` (tanh, relu), `nn.GRU` and `nn.LSTM` with PyTorch's own initial weights, loaded
//! here by PyTorch's parameter names in PyTorch's layouts (no reordering): outputs, and the
//! gradients of `sum(c * outputs)` for every parameter and the input, within [`TOL`].

use neurite::activation::Relu;
use neurite::layer::{Ctx, Gru, Infer, Layer, Lstm, Rnn};
use neurite::params::{Params, Zeroed};
use neurite::prelude::Rng;
use serde_json::Value;

const I: usize = 3;
const H: usize = 4;
const T: usize = 6;

/// `|ours - pytorch| <= TOL * (1 + |pytorch|)` for every value. Measured: outputs 1.2e-7,
/// gradients 4.8e-7 at most (`NEURITE_RECURRENT_REPORT=1 ... -- --nocapture`); about four
/// times that.
const TOL: f64 = 2e-6;

fn reference() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/pytorch/recurrent_reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f32> {
    match v {
        Value::Array(a) => a.iter().flat_map(floats).collect(),
        Value::Number(n) => vec![n.as_f64().unwrap() as f32],
        _ => panic!("not numbers: {v}"),
    }
}

/// Largest `|a - b| / (1 + |b|)`.
fn worst(ours: &[f32], theirs: &[f32]) -> f64 {
    assert_eq!(ours.len(), theirs.len());
    ours.iter()
        .zip(theirs)
        .map(|(&a, &b)| (f64::from(a) - f64::from(b)).abs() / (1.0 + f64::from(b).abs()))
        .fold(0.0, f64::max)
}

/// Loads the case's parameters by PyTorch's names, runs forward and backward, compares.
fn check<L>(case: &Value)
where
    L: Layer<Input = [[f32; I]; T], Output = [[f32; H]; T], Grads = L>,
{
    let name = case["name"].as_str().unwrap();
    let mut layer = L::DEFAULT;
    let names = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"];
    for (t, n) in names.iter().enumerate() {
        layer.tensor_mut(t).copy_from_slice(&floats(&case["params"][n]));
    }
    let x: [[f32; I]; T] = {
        let v = floats(&case["input"]);
        core::array::from_fn(|t| core::array::from_fn(|i| v[t * I + i]))
    };
    let c = floats(&case["loss_weights"]);
    let dy: [[f32; H]; T] = core::array::from_fn(|t| core::array::from_fn(|j| c[t * H + j]));
    let mut trace = L::Trace::ZEROED;
    let mut y = [[0.0f32; H]; T];
    layer.forward_trace(&mut Ctx::train(), &x, &mut trace, &mut y);
    let mut plain = [[0.0f32; H]; T];
    layer.forward(&x, &mut plain);
    assert_eq!(plain, y, "{name}: forward and forward_trace differ");
    let mut report = vec![("output", worst(y.as_flattened(), &floats(&case["output"])))];
    let (mut dx, mut grads) = ([[0.0f32; I]; T], L::DEFAULT);
    layer.backward(&x, &trace, &dy, &mut dx, &mut grads);
    report.push(("input grad", worst(dx.as_flattened(), &floats(&case["input_grad"]))));
    for (t, n) in names.iter().enumerate() {
        report.push((n, worst(grads.tensor(t), &floats(&case["grads"][n]))));
    }
    for (what, err) in report {
        if std::env::var_os("NEURITE_RECURRENT_REPORT").is_some() {
            println!("{name:9} {what:13} {err:.2e}");
        }
        assert!(err <= TOL, "{name}: {what} differs from PyTorch by {err:e}");
    }
}

#[test]
fn rnn_gru_and_lstm_match_pytorch() {
    let r = reference();
    assert_eq!((r["input_size"].as_u64(), r["hidden_size"].as_u64()), (Some(3), Some(4)));
    assert_eq!(r["steps"].as_u64(), Some(T as u64));
    let cases = r["cases"].as_array().unwrap();
    let case = |n: &str| cases.iter().find(|c| c["name"] == n).unwrap();
    check::<Rnn<I, H, T>>(case("rnn_tanh"));
    check::<Rnn<I, H, T, Relu>>(case("rnn_relu"));
    check::<Gru<I, H, T>>(case("gru"));
    check::<Lstm<I, H, T>>(case("lstm"));
}

fn random<L: Layer>(seed: u64) -> L {
    let mut rng = Rng::new(seed);
    let mut l = L::DEFAULT;
    l.init(&neurite::init::LayerInit::XAVIER, &mut rng);
    l
}

fn sequence<const N: usize, const S: usize>(seed: u64) -> [[f32; N]; S] {
    let mut rng = Rng::new(seed);
    core::array::from_fn(|_| core::array::from_fn(|_| rng.normal()))
}

fn bits<const N: usize, const S: usize>(v: &[[f32; N]; S]) -> Vec<u32> {
    v.as_flattened().iter().map(|x| x.to_bits()).collect()
}

/// The training forward (`forward_trace`, which keeps every step's gates for
/// backpropagation) of `layer` on `x`: the reference the streamed outputs are compared with.
fn traced<L: Layer>(layer: &L, x: &L::Input) -> L::Output {
    let (mut trace, mut y) = (L::Trace::ZEROED, L::Output::ZEROED);
    layer.forward_trace(&mut Ctx::train(), x, &mut trace, &mut y);
    y
}

/// One step at a time with the carried state gives the training forward's outputs over the
/// whole sequence, bit for bit (and so does inference's `forward`).
#[test]
fn streaming_equals_the_whole_sequence() {
    const S: usize = 40;
    let x: [[f32; 5]; S] = sequence(7);
    let gru: Gru<5, 8, S> = random(1);
    let (mut streamed, mut h) = ([[0.0; 8]; S], [0.0; 8]);
    let mut inferred = [[0.0; 8]; S];
    gru.forward(&x, &mut inferred);
    let mut whole = traced(&gru, &x);
    assert_eq!(bits(&inferred), bits(&whole), "GRU: forward and forward_trace");
    for (x_t, y_t) in x.iter().zip(streamed.iter_mut()) {
        gru.step(x_t, &mut h);
        *y_t = h;
    }
    assert_eq!(bits(&streamed), bits(&whole), "GRU");
    let lstm: Lstm<5, 8, S> = random(2);
    let (mut c, mut h) = ([0.0; 8], [0.0; 8]);
    whole = traced(&lstm, &x);
    for (x_t, y_t) in x.iter().zip(streamed.iter_mut()) {
        lstm.step(x_t, &mut h, &mut c);
        *y_t = h;
    }
    assert_eq!(bits(&streamed), bits(&whole), "LSTM");
    let rnn: Rnn<5, 8, S> = random(3);
    let mut h = [0.0; 8];
    whole = traced(&rnn, &x);
    for (x_t, y_t) in x.iter().zip(streamed.iter_mut()) {
        rnn.step(x_t, &mut h);
        *y_t = h;
    }
    assert_eq!(bits(&streamed), bits(&whole), "RNN");
    // the flat form too
    let mut flat = vec![0.0; 8 * S];
    gru.forward_flat(x.as_flattened(), &mut flat);
    gru.forward(&x, &mut whole);
    assert_eq!(flat, whole.as_flattened());
}

/// The trace's size is a compile-time constant: per step, the GRU keeps 5 values per hidden
/// unit, the LSTM 7 and the RNN 2.
#[test]
fn trace_sizes_are_known_at_compile_time() {
    assert_eq!(size_of::<<Gru<8, 16, 8> as Layer>::Trace>(), 4 * 8 * 5 * 16);
    assert_eq!(size_of::<<Lstm<8, 16, 8> as Layer>::Trace>(), 4 * 8 * 7 * 16);
    assert_eq!(size_of::<<Rnn<8, 16, 8> as Layer>::Trace>(), 4 * 8 * 2 * 16);
    assert_eq!(<Gru<8, 16, 8> as Params>::LEN, 3 * 16 * (8 + 16 + 2));
    assert_eq!(<Lstm<8, 16, 8> as Params>::LEN, 4 * 16 * (8 + 16 + 2));
}
