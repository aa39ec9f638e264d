//! Graph layers over a fixed graph of `N` nodes: [`GcnConv`] (Kipf & Welling's graph
//! convolution, PyTorch Geometric's `GCNConv`) and [`GraphMeanPool`] (the mean over nodes, a
//! graph-level readout). A sample is one graph signal `[[f32; F]; N]` (node-major). The
//! numerics are [`crate::kernel::graph`]'s, shared with the host's `gcn_conv` and
//! `graph_mean_pool`, so both front ends give the same bits.

use super::{Ctx, Dense, Infer, Layer, LayerDesc};
use crate::init::LayerInit;
use crate::kernel::graph;
use crate::params::{Params, Vector, Zeroed};
use crate::rng::Rng;

/// The `N x N` identity (`Â` of a graph without edges: every node its own loop only).
const fn identity<const N: usize>() -> [[f32; N]; N] {
    let mut a = [[0.0; N]; N];
    let mut i = 0;
    while i < N {
        a[i][i] = 1.0;
        i += 1;
    }
    a
}

/// Graph convolution over a fixed graph: `Y = Â X Wᵀ + b`, `Â = D^-1/2 (A + I) D^-1/2`
/// (`D`: the row sums of `A + I`), as [`graph::gcn_forward`] computes it.
///
/// Generics: `N` nodes, `F` features in, `O` out. `weight` is `O` rows of `F` (PyG's
/// `lin.weight`), `bias` `O`. The graph `adjacency[i][j]` (the weight by which node `i`
/// receives from node `j`) is not learnt: it is set with [`GcnConv::set_adjacency`], which
/// also keeps `Â` (a layer from [`GcnConv::new`] has no edges: `Â = I`). Memory: `4 * (F O +
/// O + 2 N^2)` bytes; forward and backward keep `N x O` values on the stack. Its gradient is a
/// [`Dense<F, O>`] (the same two tensors).
///
/// ```
/// use neurite::layer::{GcnConv, Infer};
/// // two nodes joined by an edge of weight 3, one feature: degrees 4, Â = [[1/4, 3/4], [3/4, 1/4]]
/// let mut gcn = GcnConv::<2, 1, 1>::new([[2.0]], [0.5]);
/// gcn.set_adjacency(&[[0.0, 3.0], [3.0, 0.0]]);
/// let mut y = [[0.0]; 2];
/// gcn.forward(&[[1.0], [3.0]], &mut y); // X Wᵀ = [2, 6]
/// assert_eq!(y, [[5.5], [3.5]]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct GcnConv<const N: usize, const F: usize, const O: usize> {
    /// `O x F` weight matrix, row-major.
    pub weight: [[f32; F]; O],
    /// `O` biases.
    pub bias: [f32; O],
    adjacency: [[f32; N]; N],
    a_hat: [[f32; N]; N],
}

impl<const N: usize, const F: usize, const O: usize> GcnConv<N, F, O> {
    /// A layer with the given weights and no edges (`Â = I`: a dense layer on every node).
    pub const fn new(weight: [[f32; F]; O], bias: [f32; O]) -> Self {
        Self { weight, bias, adjacency: [[0.0; N]; N], a_hat: identity::<N>() }
    }

    /// A layer from all its parts, usable in `const` and `static` items (flash):
    /// `normalized` must be `Â` of `adjacency` as [`GcnConv::set_adjacency`] computes it
    /// ([`graph::gcn_normalize`]; `neurite export --rust` writes both from the host's layer).
    pub const fn with_graph(
        weight: [[f32; F]; O],
        bias: [f32; O],
        adjacency: [[f32; N]; N],
        normalized: [[f32; N]; N],
    ) -> Self {
        Self { weight, bias, adjacency, a_hat: normalized }
    }

    /// Sets the graph (`adj[i][j]`: the weight by which node `i` receives from node `j`) and
    /// computes its `Â` ([`graph::gcn_normalize`]).
    pub fn set_adjacency(&mut self, adj: &[[f32; N]; N]) {
        self.adjacency = *adj;
        let mut dinv = [0.0; N];
        graph::gcn_normalize(
            N,
            self.adjacency.as_flattened(),
            &mut dinv,
            self.a_hat.as_flattened_mut(),
        );
    }

    /// The graph.
    pub const fn adjacency(&self) -> &[[f32; N]; N] {
        &self.adjacency
    }

    /// `Â` of the graph.
    pub const fn normalized(&self) -> &[[f32; N]; N] {
        &self.a_hat
    }

    fn run(&self, x: &[f32], y: &mut [f32]) {
        let mut h = [[0.0; O]; N];
        graph::gcn_forward(
            N,
            F,
            O,
            self.a_hat.as_flattened(),
            x,
            self.weight.as_flattened(),
            &self.bias,
            h.as_flattened_mut(),
            y,
        );
    }

    fn back(&self, x: &[f32], dy: &[f32], dx: Option<&mut [f32]>, grads: &mut Dense<F, O>) {
        let mut dh = [[0.0; O]; N];
        graph::gcn_backward(
            N,
            F,
            O,
            self.a_hat.as_flattened(),
            x,
            self.weight.as_flattened(),
            dy,
            dh.as_flattened_mut(),
            dx,
            grads.weight.as_flattened_mut(),
            &mut grads.bias,
        );
    }
}

impl<const N: usize, const F: usize, const O: usize> Zeroed for GcnConv<N, F, O> {
    const ZEROED: Self = Self::new([[0.0; F]; O], [0.0; O]);
}

impl<const N: usize, const F: usize, const O: usize> Params for GcnConv<N, F, O> {
    const TENSORS: usize = 2;
    const LEN: usize = F * O + O;
    fn tensor(&self, i: usize) -> &[f32] {
        match i {
            0 => self.weight.as_flattened(),
            1 => &self.bias,
            _ => &[],
        }
    }
    fn tensor_mut(&mut self, i: usize) -> &mut [f32] {
        match i {
            0 => self.weight.as_flattened_mut(),
            1 => &mut self.bias,
            _ => &mut [],
        }
    }
}

impl<const N: usize, const F: usize, const O: usize> Infer for GcnConv<N, F, O> {
    type Input = [[f32; F]; N];
    type Output = [[f32; O]; N];

    fn forward(&self, x: &Self::Input, y: &mut Self::Output) {
        self.run(x.as_flattened(), y.as_flattened_mut());
    }

    fn forward_flat(&self, x: &[f32], y: &mut [f32]) {
        self.run(x, y);
    }

    fn describe(&self, f: &mut dyn FnMut(LayerDesc)) {
        f(LayerDesc::Other { name: "gcn_conv", inputs: N * F, outputs: N * O, params: F * O + O });
    }
}

impl<const N: usize, const F: usize, const O: usize> Layer for GcnConv<N, F, O> {
    type Trace = ();
    type Grads = Dense<F, O>;
    const DEFAULT: Self = Self::ZEROED;

    fn forward_trace(&self, _: &mut Ctx<'_>, x: &Self::Input, _: &mut (), y: &mut Self::Output) {
        self.forward(x, y);
    }

    fn backward(
        &self,
        x: &Self::Input,
        _: &(),
        dy: &Self::Output,
        dx: &mut Self::Input,
        grads: &mut Dense<F, O>,
    ) {
        self.back(x.as_flattened(), dy.as_flattened(), Some(dx.as_flattened_mut()), grads);
    }

    fn backward_params(&self, x: &Self::Input, _: &(), dy: &Self::Output, grads: &mut Dense<F, O>) {
        self.back(x.as_flattened(), dy.as_flattened(), None, grads);
    }

    /// As a dense layer of `F` inputs and `O` outputs (the host's `gcn_conv` draws the same).
    fn init(&mut self, init: &LayerInit, rng: &mut Rng) {
        init.apply(self.weight.as_flattened_mut(), &mut self.bias, F, O, rng);
    }
}

/// Minibatches sample by sample ([`super::BatchLayer`]).
impl<const N: usize, const F: usize, const O: usize> super::PerSample for GcnConv<N, F, O> {}

/// The mean over the `N` nodes of a graph signal: `[[f32; F]; N] -> [f32; F]`
/// ([`graph::mean_pool_forward`]).
///
/// ```
/// use neurite::layer::{GraphMeanPool, Infer, Layer};
/// let mut y = [0.0; 2];
/// GraphMeanPool::<2, 2>::DEFAULT.forward(&[[1.0, 3.0], [3.0, -1.0]], &mut y);
/// assert_eq!(y, [2.0, 1.0]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GraphMeanPool<const N: usize, const F: usize>;

crate::params::no_params! {
    [const N: usize, const F: usize] GraphMeanPool<N, F>;
}

impl<const N: usize, const F: usize> Infer for GraphMeanPool<N, F> {
    type Input = [[f32; F]; N];
    type Output = [f32; F];

    fn forward(&self, x: &Self::Input, y: &mut [f32; F]) {
        graph::mean_pool_forward(N, Vector::as_slice(x), y);
    }

    fn forward_flat(&self, x: &[f32], y: &mut [f32]) {
        graph::mean_pool_forward(N, x, y);
    }

    fn describe(&self, f: &mut dyn FnMut(LayerDesc)) {
        f(LayerDesc::Other { name: "graph_mean_pool", inputs: N * F, outputs: F, params: 0 });
    }
}

impl<const N: usize, const F: usize> Layer for GraphMeanPool<N, F> {
    type Trace = ();
    type Grads = ();
    const DEFAULT: Self = Self;

    fn forward_trace(&self, _: &mut Ctx<'_>, x: &Self::Input, _: &mut (), y: &mut [f32; F]) {
        self.forward(x, y);
    }

    fn backward(&self, _: &Self::Input, _: &(), dy: &[f32; F], dx: &mut Self::Input, _: &mut ()) {
        graph::mean_pool_backward(N, dy, Vector::as_mut_slice(dx));
    }

    /// Nothing to do: no parameters.
    fn backward_params(&self, _: &Self::Input, _: &(), _: &[f32; F], _: &mut ()) {}
}

/// Minibatches sample by sample ([`super::BatchLayer`]).
impl<const N: usize, const F: usize> super::PerSample for GraphMeanPool<N, F> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::Ctx;

    const ADJ: [[f32; 3]; 3] = [[0.0, 1.0, 0.5], [1.0, 0.0, 0.0], [0.5, 2.0, 0.0]];
    const X: [[f32; 3]; 3] = [[1.0, -2.0, 0.5], [3.0, -1.5, 2.5], [0.25, 1.0, -1.0]];

    fn layer() -> GcnConv<3, 3, 2> {
        let mut g = GcnConv::new([[0.3, -0.7, 1.1], [0.4, 0.2, -0.5]], [0.1, -0.2]);
        g.set_adjacency(&ADJ);
        g
    }

    /// The kernel's `Â` of [`ADJ`].
    fn a_hat() -> [f32; 9] {
        let (mut dinv, mut a_hat) = ([0.0; 3], [0.0; 9]);
        graph::gcn_normalize(3, ADJ.as_flattened(), &mut dinv, &mut a_hat);
        a_hat
    }

    #[test]
    fn a_new_layer_has_no_edges_and_set_adjacency_normalises() {
        let g = GcnConv::<3, 3, 2>::new([[0.0; 3]; 2], [0.0; 2]);
        assert_eq!(g.normalized(), &[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]);
        assert_eq!(GcnConv::<3, 3, 2>::ZEROED.normalized(), g.normalized());
        let g = layer();
        assert_eq!((g.adjacency(), g.normalized().as_flattened()), (&ADJ, &a_hat()[..]));
    }

    #[test]
    fn the_layer_runs_the_kernels() {
        let g = layer();
        let (w, b) = (g.weight, g.bias);
        let (mut h, mut want) = ([0.0; 6], [0.0; 6]);
        let a = a_hat();
        graph::gcn_forward(3, 3, 2, &a, X.as_flattened(), w.as_flattened(), &b, &mut h, &mut want);
        let mut y = [[0.0; 2]; 3];
        g.forward(&X, &mut y);
        assert_eq!(y.as_flattened(), want);
        let mut y = [[0.0; 2]; 3];
        g.forward_trace(&mut Ctx::train(), &X, &mut (), &mut y);
        assert_eq!(y.as_flattened(), want);
        let mut flat = [0.0; 6];
        g.forward_flat(X.as_flattened(), &mut flat);
        assert_eq!(flat, want);
        assert!(want.iter().all(|v| v.abs() > 1e-3), "{want:?}");

        let dy = [[0.2, -1.0], [0.7, 0.3], [-0.4, 1.3]];
        let (mut dh, mut want_dx) = ([0.0; 6], [0.0; 9]);
        let mut want_g = Dense::<3, 2>::ZEROED;
        graph::gcn_backward(
            3,
            3,
            2,
            &a,
            X.as_flattened(),
            w.as_flattened(),
            dy.as_flattened(),
            &mut dh,
            Some(&mut want_dx),
            want_g.weight.as_flattened_mut(),
            &mut want_g.bias,
        );
        let mut dx = [[0.0; 3]; 3];
        let mut grads = Dense::<3, 2>::ZEROED;
        g.backward(&X, &(), &dy, &mut dx, &mut grads);
        assert_eq!((dx.as_flattened(), &grads), (&want_dx[..], &want_g));
        assert!(want_dx.iter().all(|v| v.abs() > 1e-3), "{want_dx:?}");
        let mut grads = Dense::<3, 2>::ZEROED;
        g.backward_params(&X, &(), &dy, &mut grads);
        assert_eq!(grads, want_g);
    }

    #[test]
    fn parameters_are_the_weight_and_the_bias() {
        type G = GcnConv<3, 3, 2>;
        assert_eq!((G::TENSORS, G::LEN), (2, 8));
        let mut g = layer();
        let (w, b) = (g.weight, g.bias);
        assert_eq!((g.tensor(0), g.tensor(1), g.tensor(2)), (w.as_flattened(), &b[..], &[][..]));
        g.tensor_mut(0)[5] = 7.0;
        g.tensor_mut(1)[1] = 8.0;
        assert!(g.tensor_mut(2).is_empty());
        assert_eq!((g.weight[1][2], g.bias[1]), (7.0, 8.0));
    }

    fn desc(layer: &impl Infer) -> Option<LayerDesc> {
        let mut got = None;
        layer.describe(&mut |d| got = Some(d));
        got
    }

    #[test]
    fn descriptions_and_init() {
        let want = LayerDesc::Other { name: "gcn_conv", inputs: 9, outputs: 6, params: 8 };
        assert_eq!(desc(&layer()), Some(want));
        let want = LayerDesc::Other { name: "graph_mean_pool", inputs: 9, outputs: 3, params: 0 };
        assert_eq!(desc(&GraphMeanPool::<3, 3>), Some(want));
        // initialised as a dense layer of 3 inputs and 2 outputs, from the same draws
        let mut g = layer();
        g.init(&LayerInit::TORCH_DEFAULT, &mut Rng::new(3));
        let mut d = Dense::<3, 2>::ZEROED;
        d.init(&LayerInit::TORCH_DEFAULT, &mut Rng::new(3));
        assert_eq!((g.weight, g.bias), (d.weight, d.bias));
        assert!(g.weight != layer().weight && g.bias != layer().bias);
    }

    #[test]
    fn mean_pool_layer() {
        let pool = GraphMeanPool::<3, 3>;
        let want = [(1.0 + 3.0 + 0.25) / 3.0, (-2.0 - 1.5 + 1.0) / 3.0, (0.5 + 2.5 - 1.0) / 3.0];
        let mut y = [0.0; 3];
        pool.forward(&X, &mut y);
        assert_eq!(y, want);
        let mut y = [0.0; 3];
        pool.forward_trace(&mut Ctx::train(), &X, &mut (), &mut y);
        assert_eq!(y, want);
        let mut y = [0.0; 3];
        pool.forward_flat(X.as_flattened(), &mut y);
        assert_eq!(y, want);
        let mut dx = [[0.0; 3]; 3];
        pool.backward(&X, &(), &[3.0, -6.0, 1.5], &mut dx, &mut ());
        assert_eq!(dx, [[1.0, -2.0, 0.5]; 3]);
    }
}
