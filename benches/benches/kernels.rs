//! Criterion benchmarks of the core path: inference and one training step (forward, backward,
//! Adam) of the digits MLP 64-64-10, per sample.
//!
//! Run: `cargo bench -p neurite-benches`. The PyTorch side-by-side comparison comes with the
//! performance issue; these figures are the core's own baseline.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use neurite::prelude::*;

type Digits = neurite::Seq![Dense<64, 64>, Relu<64>, Dense<64, 10>];
type G = <Digits as Layer>::Grads;

fn bench(c: &mut Criterion) {
    let mut model = Digits::DEFAULT;
    let mut rng = Rng::new(1);
    model.init(&LayerInit::HE_RELU, &mut rng);
    let x: [f32; 64] = core::array::from_fn(|_| rng.normal());
    c.bench_function("digits 64-64-10 inference (1 sample)", |b| {
        let mut y = [0.0; 10];
        b.iter(|| {
            model.forward(black_box(&x), &mut y);
            black_box(y)
        });
    });
    let mut opt = Adam::<G>::new(AdamConfig::adam(1e-3)).unwrap();
    let mut trainer = Box::new(Trainer::<Digits>::new());
    let ce = CrossEntropy::default();
    c.bench_function("digits 64-64-10 train step (1 sample + Adam)", |b| {
        b.iter(|| {
            trainer.begin();
            trainer.accumulate(&model, &ce, black_box(&x), Target::Class(3)).unwrap();
            trainer.finish(&ce, Reduction::Mean).unwrap();
            opt.step(&mut model, &trainer.grads);
        });
    });
    c.bench_function("digits 64-64-10 accumulate (1 sample, no step)", |b| {
        trainer.begin();
        b.iter(|| trainer.accumulate(&model, &ce, black_box(&x), Target::Class(3)).unwrap());
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
