//! The graph family: `gcn_conv(out_channels)`, graph convolution over a fixed graph (Kipf &
//! Welling's GCN, PyTorch Geometric's `GCNConv`), and `graph_mean_pool`, the mean over nodes
//! (PyG's `global_mean_pool` for one graph).
//!
//! A sample is one graph's node features `[N, F]` (node-major). `gcn_conv` computes
//! `Y = Â X Wᵀ + b`, `Â = D^-1/2 (A + I) D^-1/2` (`D`: the row sums of `A + I`), output
//! `[N, O]`; the kernels and their summation order are `neurite::kernel::graph`'s. Its
//! parameters are `weight` `[O, F]` (PyG's `lin.weight`) and `bias` `[O]`; the graph is the
//! buffer `adjacency` `[N, N]` (`a[i][j]`: the weight with which node `i` receives from
//! node `j`), fixed, saved in model files and state dicts like batch norm's running
//! statistics, never seen by optimisers. A layer built from a spec has no edges (`Â = I`,
//! a dense layer per node) until [`set_adjacency`] gives it its graph. `Â` is computed
//! from the buffer at each forward and backward (`N^2` work, small beside the `N^2 O`
//! aggregation), so a buffer loaded from a file or a golden case is used as it is.
//!
//! `graph_mean_pool`: `[N, F] -> [F]`, `y[f] = mean_j x[j][f]`.

use crate::dynamic::attrs::Attrs;
use crate::dynamic::backend::Backend;
use crate::dynamic::model::DynModel;
use crate::dynamic::op::{Ctx, Op, Saved, Tensor};
use crate::dynamic::registry::{infer_nothing, size, LayerKind, LayerNode};
use neurite::init::LayerInit;
use neurite::kernel::graph;
use neurite::rng::Rng;

/// Registry entry of `gcn_conv`.
pub static GCN_CONV: LayerKind = LayerKind {
    name: "gcn_conv",
    positional: &["out_channels"],
    options: &["out_channels", "in_channels"],
    help: "gcn_conv(out_channels)",
    build: build_gcn,
    infer: |a, t| {
        if let Some(s) = t("weight") {
            if a.get("out_channels").is_none() && s.len() == 2 {
                a.set("out_channels", size(s[0]));
            }
        }
    },
    composite: false,
};

/// Registry entry of `graph_mean_pool`.
pub static GRAPH_MEAN_POOL: LayerKind = LayerKind {
    name: "graph_mean_pool",
    positional: &[],
    options: &[],
    help: "graph_mean_pool",
    build: build_pool,
    infer: infer_nothing,
    composite: false,
};

/// Graph convolution over a fixed graph of `N` nodes, `F` features in, `O` out.
#[derive(Clone, Debug, PartialEq)]
pub struct GcnConv {
    in_shape: [usize; 2],
    out_shape: [usize; 2],
    w_shape: [usize; 2],
    adj_shape: [usize; 2],
    /// `O x F`, row-major.
    pub weight: Vec<f32>,
    /// `O` biases.
    pub bias: Vec<f32>,
    /// The graph, `N x N` row-major (buffer): `adjacency[i * N + j]` is the weight of the
    /// edge by which node `i` receives from node `j`.
    pub adjacency: Vec<f32>,
}

fn build_gcn(node: &LayerNode, shape: &[usize]) -> Result<Box<dyn Op>, String> {
    let a = &node.attrs;
    a.only("gcn_conv", GCN_CONV.options)?;
    super::expect_rank(shape, &[2], "N x F (nodes x features)")?;
    let (n, f) = (shape[0], shape[1]);
    let o = a.usize("out_channels", 0)?;
    if o == 0 {
        return Err("gcn_conv needs a positive number of output channels, e.g. gcn_conv(16)".into());
    }
    if a.get("in_channels").is_some() && a.usize("in_channels", 0)? != f {
        return Err(format!(
            "in_channels = {} but the input has {f} features per node",
            a.usize("in_channels", 0)?
        ));
    }
    let weights = crate::dynamic::op::checked_values(&[o, f], "the weight")?;
    let edges = crate::dynamic::op::checked_values(&[n, n], "the adjacency")?;
    Ok(Box::new(GcnConv {
        in_shape: [n, f],
        out_shape: [n, o],
        w_shape: [o, f],
        adj_shape: [n, n],
        weight: vec![0.0; weights],
        bias: vec![0.0; o],
        adjacency: vec![0.0; edges],
    }))
}

impl GcnConv {
    /// Nodes.
    pub fn nodes(&self) -> usize {
        self.in_shape[0]
    }
    /// Input features per node.
    pub fn inputs(&self) -> usize {
        self.in_shape[1]
    }
    /// Output features per node.
    pub fn outputs(&self) -> usize {
        self.out_shape[1]
    }

    /// Sets the graph: `adj` is `N x N`, row-major (`Err` for another length or a value
    /// that is not finite).
    pub fn set_adjacency(&mut self, adj: &[f32]) -> Result<(), String> {
        check_adjacency(self.nodes(), adj)?;
        self.adjacency.copy_from_slice(adj);
        Ok(())
    }

    /// `Â` of the current adjacency (`N x N`).
    pub fn normalized(&self) -> Vec<f32> {
        let n = self.nodes();
        let mut dinv = vec![0.0; n];
        let mut a_hat = vec![0.0; n * n];
        graph::gcn_normalize(n, &self.adjacency, &mut dinv, &mut a_hat);
        a_hat
    }

    fn run(&self, a_hat: &[f32], x: &[f32], y: &mut [f32], batch: usize) {
        let [n, f] = self.in_shape;
        let o = self.outputs();
        let mut h = vec![0.0; n * o];
        super::each_sample(x, y, batch, |x, y| {
            graph::gcn_forward(n, f, o, a_hat, x, &self.weight, &self.bias, &mut h, y);
        });
    }
}

fn check_adjacency(n: usize, adj: &[f32]) -> Result<(), String> {
    if adj.len() != n * n {
        return Err(format!(
            "the adjacency of a graph of {n} nodes has {} values, found {}",
            n * n,
            adj.len()
        ));
    }
    if let Some(k) = adj.iter().position(|v| !v.is_finite()) {
        return Err(format!("adjacency[{}][{}] is not finite", k / n, k % n));
    }
    Ok(())
}

/// Sets the graph of every `gcn_conv` layer of `model` (bodies of composite layers
/// included) to `adj` (`N x N`, row-major, `adj[i * N + j]`: the weight by which node `i`
/// receives from node `j`); returns how many layers took it. `Err` when a layer's graph
/// has another number of nodes or a value is not finite.
pub fn set_adjacency(model: &mut DynModel, adj: &[f32]) -> Result<usize, String> {
    let mut count = 0;
    for layer in &mut model.layers {
        if let Some(body) = layer.body_mut() {
            count += set_adjacency(body, adj)?;
            continue;
        }
        if layer.kind().name != GCN_CONV.name {
            continue;
        }
        let n = layer.input_shape()[0];
        check_adjacency(n, adj)?;
        if let Some(buffer) = layer.buffers_mut().into_iter().next() {
            buffer.copy_from_slice(adj);
            count += 1;
        }
    }
    Ok(count)
}

impl Op for GcnConv {
    fn kind(&self) -> &'static LayerKind {
        &GCN_CONV
    }
    fn attrs(&self) -> Attrs {
        Attrs::new().num("out_channels", self.outputs() as f32)
    }
    fn input_shape(&self) -> &[usize] {
        &self.in_shape
    }
    fn output_shape(&self) -> &[usize] {
        &self.out_shape
    }
    fn params(&self) -> Vec<Tensor<'_>> {
        vec![
            Tensor { name: "weight", shape: &self.w_shape, values: &self.weight },
            Tensor { name: "bias", shape: &self.w_shape[..1], values: &self.bias },
        ]
    }
    fn params_mut(&mut self) -> Vec<&mut [f32]> {
        vec![&mut self.weight, &mut self.bias]
    }
    fn buffers(&self) -> Vec<Tensor<'_>> {
        vec![Tensor { name: "adjacency", shape: &self.adj_shape, values: &self.adjacency }]
    }
    fn buffers_mut(&mut self) -> Vec<&mut [f32]> {
        vec![&mut self.adjacency]
    }
    fn params_and_buffers_mut(&mut self) -> Vec<&mut [f32]> {
        vec![&mut self.weight, &mut self.bias, &mut self.adjacency]
    }
    /// The weight as a dense layer's (`F` inputs, `O` outputs) and its bias.
    fn init(&mut self, init: &LayerInit, rng: &mut Rng) {
        let [o, f] = self.w_shape;
        init.apply(&mut self.weight, &mut self.bias, f, o, rng);
    }
    /// `N F O` for `X Wᵀ` and `N^2 O` for the aggregation.
    fn macs(&self) -> usize {
        let [n, f] = self.in_shape;
        n * f * self.outputs() + n * n * self.outputs()
    }
    /// The typed `GcnConv` with the graph and its `Â` as consts.
    fn rust(&self) -> Option<(String, String)> {
        use crate::export::{floats, nested};
        let [n, f] = self.in_shape;
        Some((
            format!("neurite::layer::GcnConv<{n}, {f}, {}>", self.outputs()),
            format!(
                "neurite::layer::GcnConv::with_graph({}, {}, {}, {})",
                nested(&self.weight, &self.w_shape),
                floats(&self.bias),
                nested(&self.adjacency, &self.adj_shape),
                nested(&self.normalized(), &self.adj_shape)
            ),
        ))
    }
    fn forward(&self, _: &dyn Backend, x: &[f32], y: &mut [f32], batch: usize) {
        self.run(&self.normalized(), x, y, batch);
    }
    fn forward_train(
        &mut self,
        _ctx: &mut Ctx<'_>,
        x: &[f32],
        y: &mut [f32],
        batch: usize,
        saved: &mut Saved,
    ) {
        saved.values = self.normalized();
        self.run(&saved.values, x, y, batch);
    }
    fn backward(
        &self,
        _: &Ctx<'_>,
        x: &[f32],
        _y: &[f32],
        saved: &mut Saved,
        dy: &[f32],
        dx: Option<&mut [f32]>,
        grads: &mut [Vec<f32>],
        batch: usize,
    ) {
        let [gw, gb] = grads else { return };
        let [n, f] = self.in_shape;
        let o = self.outputs();
        if saved.values.len() != n * n {
            saved.values = self.normalized();
        }
        let a_hat = &saved.values;
        let mut dh = vec![0.0; n * o];
        super::each_sample_back(x, dy, dx, batch, |x, dy, dx| {
            graph::gcn_backward(n, f, o, a_hat, x, &self.weight, dy, &mut dh, dx, gw, gb);
        });
    }
}

/// The mean over the nodes of a graph signal: `[N, F] -> [F]`.
#[derive(Clone, Debug, PartialEq)]
pub struct GraphMeanPool {
    in_shape: [usize; 2],
    out_shape: [usize; 1],
}

fn build_pool(node: &LayerNode, shape: &[usize]) -> Result<Box<dyn Op>, String> {
    node.attrs.only("graph_mean_pool", &[])?;
    super::expect_rank(shape, &[2], "N x F (nodes x features)")?;
    if shape[0] == 0 {
        return Err("graph_mean_pool needs at least one node".into());
    }
    Ok(Box::new(GraphMeanPool { in_shape: [shape[0], shape[1]], out_shape: [shape[1]] }))
}

impl Op for GraphMeanPool {
    fn kind(&self) -> &'static LayerKind {
        &GRAPH_MEAN_POOL
    }
    fn attrs(&self) -> Attrs {
        Attrs::new()
    }
    fn input_shape(&self) -> &[usize] {
        &self.in_shape
    }
    fn output_shape(&self) -> &[usize] {
        &self.out_shape
    }
    fn rust(&self) -> Option<(String, String)> {
        let [n, f] = self.in_shape;
        Some((
            format!("neurite::layer::GraphMeanPool<{n}, {f}>"),
            "neurite::layer::GraphMeanPool".into(),
        ))
    }
    fn forward(&self, _: &dyn Backend, x: &[f32], y: &mut [f32], batch: usize) {
        let n = self.in_shape[0];
        super::each_sample(x, y, batch, |x, y| graph::mean_pool_forward(n, x, y));
    }
    fn backward(
        &self,
        _: &Ctx<'_>,
        x: &[f32],
        _y: &[f32],
        _: &mut Saved,
        dy: &[f32],
        dx: Option<&mut [f32]>,
        _: &mut [Vec<f32>],
        batch: usize,
    ) {
        let n = self.in_shape[0];
        super::each_sample_back(x, dy, dx, batch, |_, dy, dx| {
            if let Some(dx) = dx {
                graph::mean_pool_backward(n, dy, dx);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model file's `weight` `[O, F]` gives `out_channels` when the spec omits it, and only
    /// then, and only from a rank-2 weight.
    #[test]
    fn out_channels_are_inferred_from_the_weight() {
        let infer = |attrs: Attrs, shape: Vec<usize>| {
            let mut a = attrs;
            (GCN_CONV.infer)(&mut a, &|name| (name == "weight").then(|| shape.clone()));
            a.usize("out_channels", 0)
        };
        assert_eq!(infer(Attrs::new(), vec![5, 3]), Ok(5));
        assert_eq!(infer(Attrs::new().num("out_channels", 4.0), vec![5, 3]), Ok(4));
        assert_eq!(infer(Attrs::new(), vec![5]), Ok(0));
        assert_eq!(infer(Attrs::new(), vec![5, 3, 1]), Ok(0));
    }

    fn layer() -> GcnConv {
        GcnConv {
            in_shape: [3, 2],
            out_shape: [3, 4],
            w_shape: [4, 2],
            adj_shape: [3, 3],
            weight: vec![0.0; 8],
            bias: vec![0.0; 4],
            adjacency: vec![0.0; 9],
        }
    }

    #[test]
    fn shapes_graph_and_costs() {
        let mut g = layer();
        assert_eq!((g.nodes(), g.inputs(), g.outputs(), g.macs()), (3, 2, 4, 3 * 2 * 4 + 9 * 4));
        let adj = [0.0, 1.0, 0.0, 1.0, 0.0, 2.0, 0.0, 2.0, 0.0];
        assert!(g.set_adjacency(&adj[..8]).is_err());
        let mut bad = adj;
        bad[5] = f32::INFINITY;
        assert_eq!(g.set_adjacency(&bad), Err("adjacency[1][2] is not finite".into()));
        assert_eq!(g.adjacency, vec![0.0; 9]);
        g.set_adjacency(&adj).expect("3 x 3");
        assert_eq!(g.adjacency, adj);
        let (mut dinv, mut want) = ([0.0; 3], [0.0; 9]);
        graph::gcn_normalize(3, &adj, &mut dinv, &mut want);
        assert_eq!(g.normalized(), want);
    }

    #[test]
    fn the_spec_options_and_every_layer_take_the_graph() {
        assert_eq!(layer().attrs().usize("out_channels", 0), Ok(4));
        let spec =
            crate::dynamic::parse_spec("residual(gcn_conv(2)),gcn_conv(3),relu").expect("spec");
        let mut model = DynModel::build(&spec, &[3, 2]).expect("model");
        let adj = [0.0, 1.0, 0.0, 1.0, 0.0, 2.0, 0.0, 2.0, 0.0];
        assert!(set_adjacency(&mut model, &adj[..4]).is_err());
        assert_eq!(set_adjacency(&mut model, &adj), Ok(2));
        assert_eq!(model.layers[1].buffers()[0].values, adj);
        let body = model.layers[0].body_mut().expect("residual");
        assert_eq!(body.layers[0].buffers()[0].values, adj);
    }

    /// `neurite export --rust`: the typed layer with its graph and `Â` as consts
    /// (`tests/tests/export_rust.rs` compiles and runs such code).
    #[test]
    fn rust_export_names_the_typed_layer_and_its_graph() {
        let mut g = layer();
        g.weight[1] = 0.5;
        g.bias[3] = -2.0;
        g.set_adjacency(&[0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]).expect("graph");
        let (ty, expr) = g.rust().expect("exportable");
        assert_eq!(ty, "neurite::layer::GcnConv<3, 2, 4>");
        // Â of one edge: 1/sqrt(2) 1/sqrt(2) (rounded; printed to round-trip)
        let h = g.normalized()[0];
        assert!((h - 0.5).abs() < 1e-7 && h == g.normalized()[4]);
        let want = format!(
            "neurite::layer::GcnConv::with_graph([[0.0, 0.5], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]], \
             [0.0, 0.0, 0.0, -2.0], [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]], \
             [[{h:?}, {h:?}, 0.0], [{h:?}, {h:?}, 0.0], [0.0, 0.0, 1.0]])"
        );
        assert_eq!(expr, want);
        let pool = GraphMeanPool { in_shape: [3, 2], out_shape: [2] };
        assert_eq!(
            pool.rust(),
            Some((
                "neurite::layer::GraphMeanPool<3, 2>".into(),
                "neurite::layer::GraphMeanPool".into()
            ))
        );
    }

    /// A backward without the training forward's `Â` (a fresh `Saved`) computes it.
    #[test]
    fn backward_without_a_saved_normalisation() {
        use crate::dynamic::backend::DEFAULT;
        let mut g = layer();
        g.weight = vec![0.3, -0.7, 1.1, 0.4, 0.2, -0.5, 0.9, 0.1];
        g.set_adjacency(&[0.0, 1.0, 0.5, 1.0, 0.0, 0.0, 0.5, 2.0, 0.0]).expect("graph");
        let x = [1.0, -2.0, 0.5, 3.0, -1.5, 2.5];
        let dy: Vec<f32> = (0..12).map(|i| (i as f32 - 5.5) / 4.0).collect();
        let mut ctx = Ctx { train: true, rng: None, backend: &DEFAULT };
        let run = |g: &GcnConv, ctx: &Ctx<'_>, saved: &mut Saved| {
            let mut grads = vec![vec![0.0; 8], vec![0.0; 4]];
            let mut dx = vec![0.0; 6];
            g.backward(ctx, &x, &[0.0; 12], saved, &dy, Some(&mut dx), &mut grads, 1);
            (grads, dx)
        };
        let fresh = run(&g, &ctx, &mut Saved::default());
        let mut saved = Saved::default();
        let mut y = [0.0; 12];
        g.forward_train(&mut ctx, &x, &mut y, 1, &mut saved);
        assert_eq!(saved.values, g.normalized());
        assert_eq!(run(&g, &ctx, &mut saved), fresh);
        assert!(fresh.0[0].iter().chain(&fresh.1).all(|v| v.abs() > 1e-4), "{fresh:?}");
    }

    #[test]
    fn mean_pool_shapes_and_values() {
        use crate::dynamic::backend::DEFAULT;
        let spec = crate::dynamic::parse_spec("graph_mean_pool").expect("spec");
        assert!(DynModel::build(&spec, &[0, 2]).is_err());
        let model = DynModel::build(&spec, &[3, 2]).expect("model");
        let pool = &model.layers[0];
        assert_eq!((pool.input_shape(), pool.output_shape()), (&[3, 2][..], &[2][..]));
        // two samples
        let x = [1.0, 2.0, 3.0, 6.0, 5.0, -2.0, 0.0, 0.0, 3.0, 3.0, 0.0, 0.0];
        let mut y = [0.0; 4];
        pool.forward(&DEFAULT, &x, &mut y, 2);
        assert_eq!(y, [3.0, 2.0, 1.0, 1.0]);
        let ctx = Ctx { train: true, rng: None, backend: &DEFAULT };
        let mut dx = [9.0; 12];
        let dy = [3.0, -6.0, 0.0, 1.5];
        pool.backward(&ctx, &x, &y, &mut Saved::default(), &dy, Some(&mut dx), &mut [], 2);
        assert_eq!(dx, [1.0, -2.0, 1.0, -2.0, 1.0, -2.0, 0.0, 0.5, 0.0, 0.5, 0.0, 0.5]);
    }
}
