//! Recurrent models built from const-generic layers (`Gru`, `Lstm`, `Rnn`, `LastStep`) and
//! from a spec string (`gru(6),dense(3)`, `--input-shape TxF`), with the same weights: the
//! same outputs, losses, input and parameter gradients and trained weights, bit for bit,
//! over 10 Adam steps of a 5-sample minibatch. Also the layer spec's options and errors.

use neurite::activation::Relu;
use neurite::init::LayerInit;
use neurite::layer::{Dense, Gru, LastStep, Layer, Lstm, Rnn};
use neurite::loss::{CrossEntropy, Reduction, Target};
use neurite::optim::{Adam, AdamConfig, Optimizer};
use neurite::params::Params;
use neurite::prelude::{Rng, Trainer};
use neurite_host::dynamic::{parse_spec, DynModel, DynOptimizer, DynTrainer};

const T: usize = 7;
const F: usize = 4;

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn same<M>(spec: &str)
where
    M: Layer<Input = [[f32; F]; T], Output = [f32; 3]> + Clone,
{
    let mut s = M::DEFAULT;
    s.init(&LayerInit::XAVIER, &mut Rng::new(9));
    let mut d = DynModel::build(&parse_spec(spec).unwrap(), &[T, F]).unwrap();
    assert_eq!(d.tensors().len(), M::TENSORS, "{spec}");
    for (i, t) in d.tensors_mut().into_iter().enumerate() {
        t.copy_from_slice(s.tensor(i));
    }
    let mut rng = Rng::new(5);
    let xs: Vec<[[f32; F]; T]> =
        (0..5).map(|_| core::array::from_fn(|_| core::array::from_fn(|_| rng.normal()))).collect();
    let ys: Vec<usize> = (0..5).map(|_| rng.below(3)).collect();
    let ce = CrossEntropy::default();
    let mut opt = Adam::<<M as Layer>::Grads>::new(AdamConfig::adam(0.01)).unwrap();
    let lens: Vec<usize> = d.tensors().iter().map(|t| t.len()).collect();
    let mut dopt = DynOptimizer::Adam(AdamConfig::adam(0.01), false).build(&lens).unwrap();
    let (mut st, mut dt) = (Trainer::<M>::new(), DynTrainer::new(&d));
    for step in 0..10 {
        st.begin();
        dt.begin();
        let rows: Vec<&[f32]> = xs.iter().map(|x| x.as_flattened()).collect();
        let ts: Vec<Target<'_>> = ys.iter().map(|&c| Target::Class(c)).collect();
        let (losses, ddx) = dt.accumulate_batch(&mut d, &ce, &rows, &ts, true).unwrap();
        let ddx = ddx.unwrap().to_vec();
        for (i, x) in xs.iter().enumerate() {
            let mut y = [0.0; 3];
            s.forward(x, &mut y);
            assert_eq!(bits(&y), bits(&d.forward(x.as_flattened())), "{spec}: output {step}");
            let mut dx = [[0.0; F]; T];
            let l = st.accumulate_with_input_grad(&s, &ce, x, ts[i], &mut dx).unwrap();
            assert_eq!(l.to_bits(), losses[i].to_bits(), "{spec}: loss {step}");
            let n = T * F;
            assert_eq!(bits(dx.as_flattened()), bits(&ddx[n * i..n * (i + 1)]), "{spec}: dx");
        }
        let (a, _) = st.finish(&ce, Reduction::Mean).unwrap();
        let (b, _) = dt.finish(&ce, Reduction::Mean, 3).unwrap();
        assert_eq!(a.to_bits(), b.to_bits());
        for (i, g) in dt.grads.iter().enumerate() {
            assert_eq!(bits(g), bits(st.grads.tensor(i)), "{spec}: grad {i}, step {step}");
        }
        opt.step(&mut s, &st.grads);
        dopt.step(&mut d.tensors_mut(), &dt.grads);
    }
    for (i, t) in d.tensors().iter().enumerate() {
        assert_eq!(bits(t), bits(s.tensor(i)), "{spec}: trained tensor {i}");
    }
}

#[test]
fn typed_and_runtime_recurrent_models_agree_bit_for_bit() {
    same::<neurite::Seq![Gru<F, 6, T>, LastStep<6, T>, Dense<6, 3>]>("gru(6),dense(3)");
    same::<neurite::Seq![Lstm<F, 5, T>, LastStep<5, T>, Dense<5, 3>]>("lstm(5),dense(3)");
    same::<neurite::Seq![Rnn<F, 6, T>, LastStep<6, T>, Dense<6, 3>]>("rnn(6),dense(3)");
    same::<neurite::Seq![Rnn<F, 6, T, Relu>, LastStep<6, T>, Dense<6, 3>]>(
        "rnn(6,nonlinearity=relu),dense(3)",
    );
    // stacked: the first layer returns the whole sequence
    same::<neurite::Seq![Gru<F, 5, T>, Lstm<5, 4, T>, LastStep<4, T>, Dense<4, 3>]>(
        "gru(5,return=sequence),lstm(4),dense(3)",
    );
}

#[test]
fn the_spec_round_trips_and_refuses_what_it_cannot_build() {
    for spec in ["gru(8)", "lstm(8,return=sequence)", "rnn(8,nonlinearity=relu)"] {
        let nodes = parse_spec(spec).unwrap();
        assert_eq!(nodes[0].spec(), spec);
        let m = DynModel::build(&nodes, &[T, F]).unwrap();
        let out = if spec.contains("sequence") { vec![T, 8] } else { vec![8] };
        assert_eq!(m.output_shape(), &out[..], "{spec}");
    }
    let err = |spec: &str, shape: &[usize]| {
        DynModel::build(&parse_spec(spec).unwrap(), shape).err().unwrap_or_default()
    };
    assert!(err("gru(8)", &[28]).contains("--input-shape TxF"), "{}", err("gru(8)", &[28]));
    assert!(err("gru(0)", &[T, F]).contains("positive hidden size"));
    assert!(err("gru(8,return=all)", &[T, F]).contains("last or sequence"));
    assert!(err("rnn(8,nonlinearity=gelu)", &[T, F]).contains("tanh or relu"));
    assert!(err("lstm(8,input_size=3)", &[T, F]).contains("input_size = 3"));
    let unknown = parse_spec("gru(8,dropout=0.1)").unwrap_err();
    assert!(format!("{unknown:?}").contains("gru has no option 'dropout'"), "{unknown:?}");
}

/// A token embedding before a GRU: typed and runtime-shaped give the same bits (tokens are
/// not differentiable: both input gradients are zero), including a value that is not a token
/// (a zero row, no gradient).
#[test]
fn an_embedding_before_a_gru_agrees_bit_for_bit() {
    use neurite::layer::Embedding;
    type M = neurite::Seq![Embedding<12, 5, T>, Gru<5, 6, T>, LastStep<6, T>, Dense<6, 3>];
    let mut s = M::DEFAULT;
    s.init(&LayerInit::XAVIER, &mut Rng::new(3));
    let mut d =
        DynModel::build(&parse_spec("embedding(12,5),gru(6),dense(3)").unwrap(), &[T]).unwrap();
    for (i, t) in d.tensors_mut().into_iter().enumerate() {
        t.copy_from_slice(s.tensor(i));
    }
    let mut rng = Rng::new(8);
    let mut xs: Vec<[f32; T]> =
        (0..4).map(|_| core::array::from_fn(|_| rng.below(12) as f32)).collect();
    xs[2][3] = 12.5; // not a token
    let ce = CrossEntropy::default();
    let (mut st, mut dt) = (Trainer::<M>::new(), DynTrainer::new(&d));
    st.begin();
    dt.begin();
    let rows: Vec<&[f32]> = xs.iter().map(|x| &x[..]).collect();
    let ts: Vec<Target<'_>> = (0..4).map(|i| Target::Class(i % 3)).collect();
    let (losses, ddx) = dt.accumulate_batch(&mut d, &ce, &rows, &ts, true).unwrap();
    assert!(ddx.unwrap().iter().all(|&v| v == 0.0));
    for (i, x) in xs.iter().enumerate() {
        let mut dx = [1.0; T];
        let l = st.accumulate_with_input_grad(&s, &ce, x, ts[i], &mut dx).unwrap();
        assert_eq!(l.to_bits(), losses[i].to_bits());
        assert_eq!(dx, [0.0; T]);
    }
    st.finish(&ce, Reduction::Mean).unwrap();
    dt.finish(&ce, Reduction::Mean, 3).unwrap();
    for (i, g) in dt.grads.iter().enumerate() {
        assert_eq!(bits(g), bits(st.grads.tensor(i)), "grad {i}");
    }
    // the embedding's gradient rows: only the tokens seen
    let seen: Vec<usize> =
        xs.iter().flatten().filter(|&&v| v < 12.0).map(|&v| v as usize).collect();
    for (row, g) in st.grads.0.weight.iter().enumerate() {
        assert_eq!(g.iter().any(|&v| v != 0.0), seen.contains(&row), "row {row}");
    }
}

/// Self-attention after a learnt positional embedding: typed and runtime-shaped give the same
/// outputs, input and parameter gradients, bit for bit.
#[test]
fn self_attention_agrees_bit_for_bit() {
    use neurite::layer::{Flatten1d, PositionalEmbedding, SelfAttention};
    type M = neurite::Seq![PositionalEmbedding<4, T>, SelfAttention<4, 2, T>, Flatten1d<T, 4, 28>, Dense<28, 3>];
    let mut s = M::DEFAULT;
    s.init(&LayerInit::XAVIER, &mut Rng::new(4));
    let spec = "positional_embedding,self_attention(2),flatten,dense(3)";
    let mut d = DynModel::build(&parse_spec(spec).unwrap(), &[T, F]).unwrap();
    for (i, t) in d.tensors_mut().into_iter().enumerate() {
        t.copy_from_slice(s.tensor(i));
    }
    let mut rng = Rng::new(6);
    let xs: Vec<[[f32; F]; T]> =
        (0..3).map(|_| core::array::from_fn(|_| core::array::from_fn(|_| rng.normal()))).collect();
    let ce = CrossEntropy::default();
    let (mut st, mut dt) = (Trainer::<M>::new(), DynTrainer::new(&d));
    st.begin();
    dt.begin();
    let rows: Vec<&[f32]> = xs.iter().map(|x| x.as_flattened()).collect();
    let ts: Vec<Target<'_>> = (0..3).map(Target::Class).collect();
    let (losses, ddx) = dt.accumulate_batch(&mut d, &ce, &rows, &ts, true).unwrap();
    let ddx = ddx.unwrap().to_vec();
    for (i, x) in xs.iter().enumerate() {
        let mut dx = [[0.0; F]; T];
        let l = st.accumulate_with_input_grad(&s, &ce, x, ts[i], &mut dx).unwrap();
        assert_eq!(l.to_bits(), losses[i].to_bits());
        assert_eq!(bits(dx.as_flattened()), bits(&ddx[T * F * i..T * F * (i + 1)]));
    }
    st.finish(&ce, Reduction::Mean).unwrap();
    dt.finish(&ce, Reduction::Mean, 3).unwrap();
    for (i, g) in dt.grads.iter().enumerate() {
        assert_eq!(bits(g), bits(st.grads.tensor(i)), "grad {i}");
    }
}
