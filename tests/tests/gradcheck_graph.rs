//! Gradient checks of the graph layers (`gcn_conv`, `graph_mean_pool`, the runtime-shaped
//! ones; the typed `GcnConv`/`GraphMeanPool` give their bits: `static_vs_dynamic_graph.rs`)
//! against Richardson-extrapolated central differences
//! (`neurite_tests::gradcheck`): `d(c . model(x)) / dx` and `/ d` every parameter of small
//! models on a directed, weighted graph with a node's own loop, an isolated node and a node
//! that only sends (so a backward that used `Â` instead of `Âᵀ`, or left out the loops,
//! fails), for a batch of two graph signals (gradients summed over the samples).
//!
//! Also: parameter gradients ADD into the given buffers (two backward calls give twice one),
//! and a batch gives the same bits as its samples one at a time, in order.
//!
//! Each model has its own step and tolerance `|analytic - numeric| <= abs + rel * |numeric|`
//! (f32 forward, f64 objective), set at about 3x the error measured with
//! `NEURITE_GRADCHECK_REPORT=1 cargo test -p neurite-tests --test gradcheck_graph --
//! --nocapture` (quoted beside each); each check must also fail a derivative 0.5% off.

use neurite::rng::Rng;
use neurite_host::dynamic::backend::CPU;
use neurite_host::dynamic::layers::gcn_conv::set_adjacency;
use neurite_host::dynamic::{parse_spec, Ctx, DynModel, Workspace};
use neurite_tests::gradcheck::{derivative, dot64, Check, Spec};

/// 5 nodes; row i is what node i receives: node 2 has its own loop, node 3 only sends,
/// node 4 has no edges, weights 0.5 and 2.
const DIRECTED: [f32; 25] = [
    0.0, 1.0, 0.5, 0.0, 0.0, //
    1.0, 0.0, 0.0, 2.0, 0.0, //
    0.5, 0.0, 1.0, 0.0, 0.0, //
    0.0, 1.0, 0.0, 0.0, 0.0, //
    0.0, 0.0, 0.0, 0.0, 0.0,
];
const NODES: usize = 5;
const FEATURES: usize = 3;
const BATCH: usize = 2;

/// A linear model (one `gcn_conv`): no truncation error, a long step.
const LINEAR: Spec = Spec::new(0.5, 2e-6, 1e-4); // 6.8e-7
/// Through tanh: a shorter step.
const SMOOTH: Spec = Spec::new(0.1, 1.6e-5, 1e-4); // 5.3e-6
/// `gcn_conv`, tanh, `graph_mean_pool`, dense: small outputs, a long-ish step.
const READOUT: Spec = Spec::new(0.1, 2e-6, 1e-4); // 6.6e-7

fn model(spec: &str, rng: &mut Rng) -> DynModel {
    let mut m = DynModel::build(&parse_spec(spec).unwrap(), &[NODES, FEATURES]).unwrap();
    assert!(set_adjacency(&mut m, &DIRECTED).unwrap() >= 1);
    for t in m.tensors_mut() {
        for v in t.iter_mut() {
            *v = rng.uniform_range(-1.0, 1.0);
        }
    }
    m
}

/// `c . model(x)` over the batch, in f64.
fn objective(m: &DynModel, x: &[f32], c: &[f32]) -> f64 {
    let mut ws = Workspace::default();
    dot64(m.forward_batch(&CPU, x, BATCH, &mut ws), c)
}

/// The analytic gradients of `c . model(x)`: `(dx, parameter gradients)`.
fn analytic(m: &mut DynModel, x: &[f32], c: &[f32]) -> (Vec<f32>, Vec<Vec<f32>>) {
    let mut ws = Workspace::default();
    let mut ctx = Ctx { train: true, rng: None, backend: &CPU };
    m.forward_train(&mut ctx, x, BATCH, &mut ws).unwrap();
    let mut grads = m.zero_grads();
    let dx = m.backward(&ctx, &mut ws, c, &mut grads, true).unwrap().to_vec();
    (dx, grads)
}

fn check_model(spec: &str, seed: u64, tol: Spec) {
    let mut rng = Rng::new(seed);
    let mut m = model(spec, &mut rng);
    let x: Vec<f32> = (0..BATCH * NODES * FEATURES).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
    let c: Vec<f32> = (0..BATCH * m.outputs()).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
    let (dx, grads) = analytic(&mut m, &x, &c);

    let mut check = Check::new(format!("{spec} dx"), tol.tol);
    for i in 0..x.len() {
        let numeric = derivative(
            |v| {
                let mut xv = x.clone();
                xv[i] = v;
                objective(&m, &xv, &c)
            },
            x[i],
            tol.h,
        );
        check.point(format_args!("[{i}]"), dx[i], numeric);
    }
    check.finish();
    for (t, g) in grads.iter().enumerate() {
        let mut check = Check::new(format!("{spec} param[{t}]"), tol.tol);
        for (j, &analytic) in g.iter().enumerate() {
            let orig = m.tensors()[t][j];
            let mut mv = m.clone();
            let numeric = derivative(
                |v| {
                    mv.tensors_mut()[t][j] = v;
                    objective(&mv, &x, &c)
                },
                orig,
                tol.h,
            );
            check.point(format_args!("[{j}]"), analytic, numeric);
        }
        check.finish();
    }
}

#[test]
fn gcn_conv_alone() {
    check_model("gcn_conv(4)", 1, LINEAR);
}

#[test]
fn two_gcn_conv_through_tanh() {
    check_model("gcn_conv(4),tanh,gcn_conv(3)", 2, SMOOTH);
}

#[test]
fn gcn_conv_graph_mean_pool_dense() {
    check_model("gcn_conv(4),tanh,graph_mean_pool,dense(2)", 3, READOUT);
}

fn bits(v: &[Vec<f32>]) -> Vec<Vec<u32>> {
    v.iter().map(|t| t.iter().map(|x| x.to_bits()).collect()).collect()
}

#[test]
fn gradients_add_and_a_batch_is_its_samples_in_order() {
    let mut rng = Rng::new(4);
    let mut m = model("gcn_conv(4),relu,gcn_conv(2),graph_mean_pool", &mut rng);
    let x: Vec<f32> = (0..BATCH * NODES * FEATURES).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
    let c: Vec<f32> = (0..BATCH * 2).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
    let mut ws = Workspace::default();
    let mut ctx = Ctx { train: true, rng: None, backend: &CPU };

    // the batch
    m.forward_train(&mut ctx, &x, BATCH, &mut ws).unwrap();
    let mut batch = m.zero_grads();
    m.backward(&ctx, &mut ws, &c, &mut batch, false);
    // twice: every gradient doubles (added, not overwritten; the second call adds its
    // terms one by one onto the first's sums, so equal to 2x only up to rounding)
    let mut twice = batch.clone();
    m.backward(&ctx, &mut ws, &c, &mut twice, false);
    for (t, (a, b)) in twice.iter().flatten().zip(batch.iter().flatten()).enumerate() {
        assert!((a - 2.0 * b).abs() <= 1e-6 * b.abs() + 1e-7, "[{t}]: {a} vs 2 x {b}");
    }

    // the samples one at a time, into the same buffers, in order
    let mut one = m.zero_grads();
    let per = NODES * FEATURES;
    for s in 0..BATCH {
        m.forward_train(&mut ctx, &x[s * per..(s + 1) * per], 1, &mut ws).unwrap();
        m.backward(&ctx, &mut ws, &c[s * 2..(s + 1) * 2], &mut one, false);
    }
    assert_eq!(bits(&one), bits(&batch));
    assert!(batch.iter().flatten().any(|&g| g != 0.0));
}
