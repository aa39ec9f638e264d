//! The perceptron learns AND, OR and a linearly separable iris pair with the perceptron
//! rule, never XOR; a 2-layer MLP trained by backpropagation learns XOR.

use neurite::layer::{Dense, Infer, Layer, Sigmoid, Tanh};
use neurite::loss::{Bce, Reduction};
use neurite::optim::{Adam, AdamConfig};
use neurite::perceptron::{Neuron, Perceptron};
use neurite::prelude::{LayerInit, Rng, Trainer};
use neurite::train::train_epoch;

const INPUTS: [[f32; 2]; 4] = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];

fn truth(f: impl Fn(bool, bool) -> bool) -> Vec<[f32; 1]> {
    INPUTS.iter().map(|x| [f32::from(u8::from(f(x[0] > 0.5, x[1] > 0.5)))]).collect()
}

fn predicts<const IN: usize, const OUT: usize>(
    p: &Perceptron<IN, OUT>,
    xs: &[[f32; IN]],
    ts: &[[f32; OUT]],
) -> bool {
    xs.iter().zip(ts).all(|(x, t)| {
        let mut y = [0.0; OUT];
        p.predict(x, &mut y);
        y == *t
    })
}

#[test]
fn single_neuron_learns_and_or() {
    for (name, t) in [("AND", truth(|a, b| a && b)), ("OR", truth(|a, b| a || b))] {
        let mut n = Neuron::<2>::new();
        let epochs = n.fit(&INPUTS, &t, 0.1, 100).unwrap();
        assert!(epochs.is_some(), "{name} did not converge");
        assert!(predicts(&n, &INPUTS, &t), "{name}");
    }
}

#[test]
fn multi_output_perceptron_learns_and_or_nand_at_once() {
    let t: Vec<[f32; 3]> = INPUTS
        .iter()
        .map(|x| {
            let (a, b) = (x[0] > 0.5, x[1] > 0.5);
            [a && b, a || b, !(a && b)].map(|v| f32::from(u8::from(v)))
        })
        .collect();
    let mut p = Perceptron::<2, 3>::new();
    assert!(p.fit(&INPUTS, &t, 0.1, 100).unwrap().is_some());
    assert!(predicts(&p, &INPUTS, &t));
}

#[test]
fn perceptron_cannot_learn_xor() {
    let t = truth(|a, b| a != b);
    let mut n = Neuron::<2>::new();
    assert_eq!(n.fit(&INPUTS, &t, 0.1, 1000).unwrap(), None);
    assert!(!predicts(&n, &INPUTS, &t));
}

#[test]
fn perceptron_separates_setosa_from_versicolor() {
    let data = neurite_host::data::Dataset::load_csv(
        &neurite_host::data::shipped_data_dir().join("iris.csv"),
        None,
    )
    .unwrap();
    let pair = data.select(|i| data.targets[i] < 1.5);
    let xs: Vec<[f32; 4]> = (0..pair.len()).map(|i| pair.row(i).try_into().unwrap()).collect();
    let ts: Vec<[f32; 1]> = pair.targets.iter().map(|&t| [t]).collect();
    assert_eq!(xs.len(), 100);
    let mut n = Neuron::<4>::new();
    let epochs = n.fit(&xs, &ts, 0.01, 100).unwrap();
    assert!(epochs.is_some(), "setosa/versicolor is linearly separable");
    assert!(predicts(&n, &xs, &ts));
}

#[test]
fn two_layer_mlp_learns_xor() {
    type Mlp = neurite::Seq![Dense<2, 4>, Tanh<4>, Dense<4, 1>, Sigmoid<1>];
    let t = truth(|a, b| a != b);
    let mut model = Mlp::DEFAULT;
    model.init(&LayerInit::XAVIER, &mut Rng::new(2));
    let mut opt = Adam::<<Mlp as Layer>::Grads>::new(AdamConfig::adam(0.05)).unwrap();
    let mut trainer = Trainer::<Mlp>::new();
    let mut order = [0usize; 4];
    let mut loss = 1.0;
    for _ in 0..500 {
        loss = train_epoch(
            &mut model,
            &mut opt,
            &mut trainer,
            &Bce,
            Reduction::Mean,
            &INPUTS,
            &t,
            4,
            &mut order,
            None,
        )
        .unwrap();
    }
    assert!(loss < 0.05, "final loss {loss}");
    for (x, want) in INPUTS.iter().zip(&t) {
        let mut y = [0.0];
        model.forward(x, &mut y);
        assert_eq!(y[0] > 0.5, want[0] > 0.5, "xor{x:?} = {}", y[0]);
    }
}
