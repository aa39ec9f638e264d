//! Criterion benchmarks of the standard suite (`neurite_host::bench`, the cases `neurite
//! bench` runs and `benches/compare_pytorch.py` compares with PyTorch): inference and one
//! training step (SGD, Adam) of each model at its batch sizes, and the 1024^3 product.
//!
//! Run: `cargo bench -p neurite-benches --bench suite` (add a filter, e.g. `-- mlp-64`).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use neurite_host::bench::{batch_data, build, TrainStep, MATMUL, MODELS};
use neurite_host::dynamic::backend::{Backend, DEFAULT};
use neurite_host::dynamic::Workspace;

fn suite(c: &mut Criterion) {
    for case in &MODELS {
        let model = build(case);
        for &batch in case.batches {
            let (x, _) = batch_data(&model, batch);
            let mut ws = Workspace::default();
            c.bench_function(&format!("{}-b{batch}-inference", case.name), |b| {
                b.iter(|| {
                    black_box(model.forward_batch(&DEFAULT, black_box(&x), batch, &mut ws));
                });
            });
            for opt in ["sgd", "adam"] {
                let mut step = TrainStep::new(&model, batch, opt);
                c.bench_function(&format!("{}-b{batch}-train-{opt}", case.name), |b| {
                    b.iter(|| black_box(step.step()));
                });
            }
        }
    }
    let n = MATMUL;
    let (a, w, bias) = (vec![0.5f32; n * n], vec![0.25f32; n * n], vec![0.0f32; n]);
    let mut out = vec![0.0f32; n * n];
    let mut group = c.benchmark_group("matmul");
    group.sample_size(10);
    group.bench_function(format!("matmul-{n}"), |b| {
        b.iter(|| DEFAULT.dense_forward(black_box(&w), &bias, black_box(&a), &mut out, n));
    });
    group.finish();
}

criterion_group!(benches, suite);
criterion_main!(benches);
