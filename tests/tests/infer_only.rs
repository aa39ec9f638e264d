//! Inference and training are separate capabilities: a layer that implements only `Infer`
//! (here an int8 dense layer, frozen in flash, with no backward and no gradient type) runs
//! through every inference path, chains with trainable layers into an inference-only model,
//! sits inside a residual block, is counted by the inference footprint, and is the frozen
//! prefix a head is fine-tuned behind. That it cannot be trained is `tests/ui/
//! infer_only_cannot_be_trained.rs` (a compile error).

use core::mem::size_of;
use neurite::footprint::{fine_tuning, inference, inference_reusing};
use neurite::layer::{Dense, Infer, Layer, LayerDesc, Relu, Residual};
use neurite::loss::{CrossEntropy, Reduction, Target};
use neurite::optim::{Optimizer, Sgd, SgdConfig};
use neurite::params::Params;
use neurite::prelude::{LayerInit, Rng, Trainer};
use neurite::train::FineTune;

/// A frozen dense layer with int8 weights: `y[o] = bias[o] + scale * sum_i w[o][i] * x[i]`.
/// Only `Infer`: no `Params`, no trace, no gradients.
struct Int8Dense<const IN: usize, const OUT: usize> {
    weight: [[i8; IN]; OUT],
    scale: f32,
    bias: [f32; OUT],
}

impl<const IN: usize, const OUT: usize> Infer for Int8Dense<IN, OUT> {
    type Input = [f32; IN];
    type Output = [f32; OUT];

    fn forward(&self, x: &[f32; IN], y: &mut [f32; OUT]) {
        self.forward_flat(x, y);
    }

    fn forward_flat(&self, x: &[f32], y: &mut [f32]) {
        for ((o, row), &b) in y.iter_mut().zip(&self.weight).zip(&self.bias) {
            let mut acc = 0.0;
            for (&w, &v) in row.iter().zip(x) {
                acc += f32::from(w) * v;
            }
            *o = b + self.scale * acc;
        }
    }

    fn describe(&self, f: &mut dyn FnMut(LayerDesc)) {
        f(LayerDesc::Other { name: "int8_dense", inputs: IN, outputs: OUT, params: 0 });
    }
}

/// Small integer weights, so every product and sum below is exact.
const FROZEN: Int8Dense<4, 6> = Int8Dense {
    weight: [
        [1, -2, 0, 3],
        [0, 1, 1, -1],
        [2, 0, -1, 0],
        [-1, -1, 2, 1],
        [3, 1, 0, 0],
        [0, -3, 1, 2],
    ],
    scale: 0.5,
    bias: [0.0, 0.5, -0.5, 1.0, 0.0, -1.0],
};

/// The weights in flash.
static FLASH: Int8Dense<4, 6> = FROZEN;

/// The same map as a trainable `Dense` (`weight * scale`, exact).
fn as_dense() -> Dense<4, 6> {
    Dense::new(FROZEN.weight.map(|r| r.map(|w| 0.5 * f32::from(w))), FROZEN.bias)
}

type Head = Dense<6, 3>;
type Frozen = (Int8Dense<4, 6>, Relu<6>);

#[test]
fn an_infer_only_layer_runs_every_inference_path() {
    let x = [1.0, -0.5, 2.0, 0.25];
    let (mut y, mut want) = ([0.0; 6], [0.0; 6]);
    FROZEN.forward(&x, &mut y);
    as_dense().forward(&x, &mut want);
    assert_eq!(y, want);

    // A chain of an inference-only layer and trainable ones is an inference-only model.
    type Model = neurite::Seq![Int8Dense<4, 6>, Relu<6>, Dense<6, 3>];
    let head =
        Dense::<6, 3>::new([[0.5; 6], [-0.25; 6], [1.0, 0.0, -1.0, 0.0, 1.0, 0.0]], [0.0; 3]);
    let model: Model = (FROZEN, (Relu::DEFAULT, head.clone()));
    let reference: neurite::Seq![Dense<4, 6>, Relu<6>, Dense<6, 3>] =
        (as_dense(), (Relu::DEFAULT, head));
    let (mut out, mut ref_out) = ([0.0; 3], [0.0; 3]);
    model.forward(&x, &mut out);
    reference.forward(&x, &mut ref_out);
    assert_eq!(out, ref_out);
    const W: usize = <Model as Infer>::SCRATCH_WIDTH;
    assert_eq!(W, 6);
    let (mut a, mut b) = ([f32::NAN; W], [f32::NAN; W]);
    let mut reused = [0.0; 3];
    model.forward_reusing(&x, &mut reused, &mut a, &mut b);
    assert_eq!(reused, out);
    let mut flat = [0.0; 3];
    model.forward_flat(&x, &mut flat);
    assert_eq!(flat, out);

    // Its descriptions, and its footprint: the same buffers as the trainable model's.
    let mut names = Vec::new();
    model.describe(&mut |d| names.push(d));
    assert_eq!(names[0], LayerDesc::Other { name: "int8_dense", inputs: 4, outputs: 6, params: 0 });
    assert_eq!(names.len(), 3);
    let f = inference::<Model>();
    assert_eq!(f.params, size_of::<Model>());
    assert_eq!(f.buffers, (4 + 3) * 4);
    assert_eq!(inference_reusing::<Model>().buffers, (4 + 3 + 2 * 6) * 4);
    // int8 weights: a quarter of the f32 weights' bytes.
    assert!(size_of::<Int8Dense<4, 6>>() < size_of::<Dense<4, 6>>());

    // A residual block around it is inference-only too.
    let block =
        Residual(Int8Dense::<4, 4> { weight: [[1, 0, 0, 0]; 4], scale: 2.0, bias: [0.0; 4] });
    let mut r = [0.0; 4];
    block.forward(&x, &mut r);
    assert_eq!(r, [3.0, 1.5, 4.0, 2.25]);
}

#[test]
fn an_infer_only_layer_is_a_frozen_prefix_to_fine_tune_behind() {
    let frozen: Frozen = (FROZEN, Relu::DEFAULT);
    let mut head = Head::DEFAULT;
    head.init(&LayerInit::XAVIER, &mut Rng::new(3));
    let mut ft = FineTune::new(&frozen, head);

    // Forward through both parts is the frozen forward, then the head's.
    let x = [0.5, 1.0, -1.0, 2.0];
    let mut y = [0.0; 3];
    ft.forward(&x, &mut y);
    let mut features = [0.0; 6];
    frozen.forward(&x, &mut features);
    let mut want = [0.0; 3];
    ft.head.forward(&features, &mut want);
    assert_eq!(y, want);

    // Training the head behind it: gradients and optimiser state exist for the head only.
    let mut rng = Rng::new(9);
    // Quarter steps: the int8 layer and its f32 twin below compute the same features exactly.
    let xs: Vec<[f32; 4]> =
        (0..24).map(|_| core::array::from_fn(|_| (rng.below(17) as f32 - 8.0) * 0.25)).collect();
    // Labels the frozen features separate: the largest of the first three features.
    let label = |x: &[f32; 4]| {
        let mut f = [0.0; 6];
        frozen.forward(x, &mut f);
        neurite::kernel::reduce::argmax(&f[..3])
    };
    let mut trainer = Trainer::<Head>::new();
    let mut opt = Sgd::<<Head as Layer>::Grads>::new(SgdConfig::new(0.2)).unwrap();
    let ce = CrossEntropy::default();
    let mut losses = Vec::new();
    for _ in 0..60 {
        trainer.begin();
        for x in &xs {
            ft.accumulate(&mut trainer, &ce, x, Target::Class(label(x))).unwrap();
        }
        losses.push(trainer.finish(&ce, Reduction::Mean).unwrap().0);
        ft.step(&mut opt, &trainer);
    }
    assert!(losses[59] < 0.5 * losses[0], "loss {} -> {}", losses[0], losses[59]);
    assert_eq!(opt.steps(), 60);
    // The same steps with the trainable twin of the prefix give the same head, bit for bit.
    let twin: (Dense<4, 6>, Relu<6>) = (as_dense(), Relu::DEFAULT);
    let mut head2 = Head::DEFAULT;
    head2.init(&LayerInit::XAVIER, &mut Rng::new(3));
    let mut ft2 = FineTune::new(&twin, head2);
    let mut opt2 = Sgd::<<Head as Layer>::Grads>::new(SgdConfig::new(0.2)).unwrap();
    for _ in 0..60 {
        trainer.begin();
        for x in &xs {
            ft2.accumulate(&mut trainer, &ce, x, Target::Class(label(x))).unwrap();
        }
        trainer.finish(&ce, Reduction::Mean).unwrap();
        ft2.step(&mut opt2, &trainer);
    }
    for t in 0..<Head as Params>::TENSORS {
        assert_eq!(ft.head.tensor(t), ft2.head.tensor(t), "tensor {t}");
    }

    // Footprint: the frozen prefix is read in place, only the head is trained.
    let f = fine_tuning::<Frozen, Head, Sgd<<Head as Layer>::Grads>>();
    assert_eq!(f.frozen, size_of::<Frozen>());
    assert_eq!(f.params, (6 * 3 + 3) * 4);
    assert_eq!(f.grads, f.params);
    assert_eq!(f.trace, 0);

    // The prefix alone, borrowed from flash.
    let mut from_flash = FineTune::new(&FLASH, Head::DEFAULT);
    from_flash.head = ft.head.clone();
    let (mut a, mut b) = ([0.0; 3], [0.0; 3]);
    from_flash.forward(&x, &mut a);
    let mut raw = [0.0; 6];
    FLASH.forward(&x, &mut raw);
    from_flash.head.forward(&raw, &mut b);
    assert_eq!(a, b);
    trainer.begin();
    from_flash.accumulate(&mut trainer, &ce, &x, Target::Class(1)).unwrap();
}
