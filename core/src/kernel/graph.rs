//! Graph kernels: graph convolution over a dense adjacency (Kipf & Welling's GCN, PyTorch
//! Geometric's `GCNConv`) and the mean over nodes (a graph-level readout, PyG's
//! `global_mean_pool` for one graph).
//!
//! One sample is a graph signal: `x[N][F]`, node-major, row-major (node `j`'s features are
//! `x[j * F..(j + 1) * F]`). The graph is an `N x N` adjacency `a[i][j]`: the weight with
//! which node `i` receives from node `j` (0/1 or any weight; symmetric for an undirected
//! graph, but it need not be).
//!
//! Graph convolution: `Y = Â X Wᵀ + b` with `Â = D^-1/2 (A + I) D^-1/2`, `D` the diagonal of
//! the row sums of `A + I` (a node's in-degree plus its own loop). Weights `w[O][F]` (PyG's
//! `lin.weight`), bias `b[O]`, output `y[N][O]`. A self loop is added to every node, also
//! to a node whose `a[i][i]` is already nonzero (Kipf & Welling's `A + I`; PyG's
//! `add_remaining_self_loops` would keep that loop's weight instead); a node of degree
//! `<= 0` gets `D^-1/2 = 0` (PyG masks the infinite power to 0 in the same way).
//!
//! Summation orders (the numerics contract): every sum starts from 0.0 and adds in index
//! order, one accumulator, products rounded before the add (no fused multiply-add).
//!
//! Slices of mismatched lengths never panic; the rows the buffers cover are written.

use super::elementwise::add_scaled;
use super::reduce::dot;
use crate::math;

/// Row `k` of `len` values of `s`, or an empty row when `s` is too short (or the index
/// overflows).
#[inline]
fn row(s: &[f32], k: usize, len: usize) -> &[f32] {
    k.checked_mul(len).and_then(|start| s.get(start..start.checked_add(len)?)).unwrap_or(&[])
}

/// Row `k` of `len` values of `s`, mutable (empty when `s` is too short).
#[inline]
fn row_mut(s: &mut [f32], k: usize, len: usize) -> &mut [f32] {
    match k.checked_mul(len).and_then(|start| Some((start, start.checked_add(len)?))) {
        Some((start, end)) if end <= s.len() => &mut s[start..end],
        _ => &mut [],
    }
}

/// The symmetric normalisation of an adjacency with self loops:
/// `deg[i] = sum_j (a[i][j] + [i == j])` (from 0.0 in `j` order), `dinv[i] = 1 / sqrt(deg[i])`
/// (0 when `deg[i] <= 0`), `a_hat[i][j] = (dinv[i] * (a[i][j] + [i == j])) * dinv[j]`.
///
/// Shapes: `adj` and `a_hat` `n x n`, `dinv` `n` (written).
pub fn gcn_normalize(n: usize, adj: &[f32], dinv: &mut [f32], a_hat: &mut [f32]) {
    // a valid `n` has `n <= n * n = adj.len()`: a larger one has no rows to loop over
    let n = n.min(adj.len());
    for (i, d) in dinv.iter_mut().enumerate().take(n) {
        let mut deg = 0.0f32;
        for (j, &a) in row(adj, i, n).iter().enumerate() {
            deg += if i == j { a + 1.0 } else { a };
        }
        *d = if deg > 0.0 { 1.0 / math::sqrt(deg) } else { 0.0 };
    }
    let dinv: &[f32] = dinv;
    for i in 0..n {
        let di = dinv.get(i).copied().unwrap_or(0.0);
        let out = row_mut(a_hat, i, n);
        for (j, (o, &a)) in out.iter_mut().zip(row(adj, i, n)).enumerate() {
            let a = if i == j { a + 1.0 } else { a };
            *o = di * a * dinv.get(j).copied().unwrap_or(0.0);
        }
    }
}

/// Graph convolution forward for one graph signal:
/// `h[j][o] = sum_f w[o][f] * x[j][f]` (from 0.0 in `f` order, as a dense layer without its
/// bias), then `y[i][o] = (sum_j a_hat[i][j] * h[j][o], from 0.0 in j order) + b[o]`.
///
/// Shapes: `a_hat` `n x n` (from [`gcn_normalize`]), `x` `n x f`, `w` `o x f`, `b` `o`, the
/// scratch `h` and the output `y` `n x o` (both overwritten).
#[allow(clippy::too_many_arguments)]
pub fn gcn_forward(
    n: usize,
    f: usize,
    o: usize,
    a_hat: &[f32],
    x: &[f32],
    w: &[f32],
    b: &[f32],
    h: &mut [f32],
    y: &mut [f32],
) {
    // a valid `n` has `n <= n * n = a_hat.len()`: a larger one has no rows to loop over
    let n = n.min(a_hat.len());
    for j in 0..n {
        let xj = row(x, j, f);
        for (k, hk) in row_mut(h, j, o).iter_mut().enumerate() {
            *hk = dot(row(w, k, f), xj);
        }
    }
    let h: &[f32] = h;
    for i in 0..n {
        let yi = row_mut(y, i, o);
        yi.fill(0.0);
        for (j, &a) in row(a_hat, i, n).iter().enumerate() {
            add_scaled(yi, a, row(h, j, o));
        }
        for (v, &bias) in yi.iter_mut().zip(b) {
            *v += bias;
        }
    }
}

/// Graph convolution backward for one graph signal; **adds** the parameter gradients:
///
/// - `dh[j][o] = sum_i a_hat[i][j] * dy[i][o]` (`Âᵀ dY`, from 0.0 in `i` order; the scratch
///   `dh` is overwritten),
/// - `gb[o] += dy[i][o]` for `i` ascending,
/// - `gw[o][f] += dh[j][o] * x[j][f]` for `j` ascending,
/// - `dx[j][f] = sum_o w[o][f] * dh[j][o]` (from 0.0 in `o` order; overwritten) when given.
///
/// Shapes as [`gcn_forward`]; `dy` and `dh` `n x o`, `dx` `n x f`, `gw` `o x f`, `gb` `o`.
#[allow(clippy::too_many_arguments)]
pub fn gcn_backward(
    n: usize,
    f: usize,
    o: usize,
    a_hat: &[f32],
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    dh: &mut [f32],
    dx: Option<&mut [f32]>,
    gw: &mut [f32],
    gb: &mut [f32],
) {
    let n = n.min(a_hat.len());
    for j in 0..n {
        row_mut(dh, j, o).fill(0.0);
    }
    for i in 0..n {
        let dyi = row(dy, i, o);
        for (g, &d) in gb.iter_mut().zip(dyi) {
            *g += d;
        }
        for (j, &a) in row(a_hat, i, n).iter().enumerate() {
            add_scaled(row_mut(dh, j, o), a, dyi);
        }
    }
    let dh: &[f32] = dh;
    for j in 0..n {
        let xj = row(x, j, f);
        for (k, &d) in row(dh, j, o).iter().enumerate() {
            add_scaled(row_mut(gw, k, f), d, xj);
        }
    }
    if let Some(dx) = dx {
        for j in 0..n {
            let dxj = row_mut(dx, j, f);
            dxj.fill(0.0);
            for (k, &d) in row(dh, j, o).iter().enumerate() {
                add_scaled(dxj, d, row(w, k, f));
            }
        }
    }
}

/// Mean over the nodes of one graph signal: `y[f] = (sum_j x[j][f], from 0.0 in node
/// order) / n`, with `F = y.len()` (`x` is `n x F`). Nothing is written when `n` is 0.
pub fn mean_pool_forward(n: usize, x: &[f32], y: &mut [f32]) {
    if n == 0 {
        return;
    }
    let f = y.len();
    y.fill(0.0);
    // rows past the end of `x` add nothing: loop over those it holds
    for j in 0..n.min(x.len()) {
        for (v, &xj) in y.iter_mut().zip(row(x, j, f)) {
            *v += xj;
        }
    }
    let count = n as f32;
    for v in y {
        *v /= count;
    }
}

/// [`mean_pool_forward`]'s backward: `dx[j][f] = dy[f] / n` (overwritten), `F = dy.len()`.
pub fn mean_pool_backward(n: usize, dy: &[f32], dx: &mut [f32]) {
    if n == 0 {
        return;
    }
    let count = n as f32;
    for j in 0..n.min(dx.len()) {
        for (d, &g) in row_mut(dx, j, dy.len()).iter_mut().zip(dy) {
            *d = g / count;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A path 0 - 1 - 2: degrees with loops 2, 3, 2.
    #[test]
    fn normalisation_of_a_path() {
        let adj = [0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0];
        let (mut dinv, mut a_hat) = ([0.0; 3], [0.0; 9]);
        gcn_normalize(3, &adj, &mut dinv, &mut a_hat);
        let s = |a: f32, b: f32| 1.0 / math::sqrt(a * b);
        let want = [
            s(2.0, 2.0),
            s(2.0, 3.0),
            0.0,
            s(3.0, 2.0),
            s(3.0, 3.0),
            s(3.0, 2.0),
            0.0,
            s(2.0, 3.0),
            s(2.0, 2.0),
        ];
        for (g, w) in a_hat.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{a_hat:?}");
        }
    }

    /// Without edges `Â = I`: the layer is a dense layer applied to every node.
    #[test]
    fn no_edges_is_a_dense_layer_per_node() {
        let (n, f, o) = (2, 3, 2);
        let adj = [0.0; 4];
        let (mut dinv, mut a_hat) = ([0.0; 2], [0.0; 4]);
        gcn_normalize(n, &adj, &mut dinv, &mut a_hat);
        assert_eq!(a_hat, [1.0, 0.0, 0.0, 1.0]);
        let x = [1.0, 2.0, 3.0, -1.0, 0.5, 2.0];
        let w = [0.1, 0.2, 0.3, -0.4, 0.5, 0.6];
        let b = [0.25, -0.5];
        let (mut h, mut y) = ([0.0; 4], [0.0; 4]);
        gcn_forward(n, f, o, &a_hat, &x, &w, &b, &mut h, &mut y);
        for j in 0..n {
            let mut want = [0.0; 2];
            crate::kernel::dense::forward(&w, &b, &x[j * f..(j + 1) * f], &mut want);
            assert_eq!(y[j * o..(j + 1) * o], want);
        }
    }

    #[test]
    fn mean_pool_is_the_mean_over_nodes() {
        let x = [1.0, 2.0, 3.0, 6.0, 5.0, -2.0];
        let mut y = [0.0; 2];
        mean_pool_forward(3, &x, &mut y);
        assert_eq!(y, [3.0, 2.0]);
        let mut dx = [0.0; 6];
        mean_pool_backward(3, &[3.0, -6.0], &mut dx);
        assert_eq!(dx, [1.0, -2.0, 1.0, -2.0, 1.0, -2.0]);
    }

    /// A node whose degree with its loop is exactly 0 (`a[i][i] = -1`, no edges) gets
    /// `D^-1/2 = 0`: its row and column of `Â` are 0, not NaN.
    #[test]
    fn a_node_of_degree_zero_is_cut_off() {
        let adj = [-1.0, 0.0, 0.0, 0.0];
        let (mut dinv, mut a_hat) = ([9.0; 2], [9.0; 4]);
        gcn_normalize(2, &adj, &mut dinv, &mut a_hat);
        assert_eq!((dinv, a_hat), ([0.0, 1.0], [0.0, 0.0, 0.0, 1.0]));
    }

    /// The backward pass against its formulas, summed in f64: `dh = Âᵀ dY`, `gb += sum_i
    /// dY[i]`, `gW += dhᵀ X`, `dX = dh W` (the gradients are added to what is there).
    #[test]
    fn backward_is_the_transposed_product() {
        let (n, f, o) = (3, 2, 2);
        let adj = [0.0, 1.0, 0.5, 1.0, 0.0, 0.0, 0.5, 2.0, 0.0];
        let (mut dinv, mut a_hat) = ([0.0; 3], [0.0; 9]);
        gcn_normalize(n, &adj, &mut dinv, &mut a_hat);
        let x = [1.0, -2.0, 0.5, 3.0, -1.5, 2.5];
        let w = [0.3, -0.7, 1.1, 0.4];
        let dy = [0.2, -1.0, 0.7, 0.3, -0.4, 1.3];
        let (mut dh, mut dx) = ([9.0; 6], [9.0; 6]);
        let (mut gw, mut gb) = ([1.0; 4], [-1.0; 2]);
        gcn_backward(n, f, o, &a_hat, &x, &w, &dy, &mut dh, Some(&mut dx), &mut gw, &mut gb);
        let mut want_dh = [0.0f64; 6];
        for j in 0..n {
            for k in 0..o {
                want_dh[j * o + k] =
                    (0..n).map(|i| f64::from(a_hat[i * n + j]) * f64::from(dy[i * o + k])).sum();
            }
        }
        for k in 0..o {
            let want = -1.0 + (0..n).map(|i| f64::from(dy[i * o + k])).sum::<f64>();
            assert!((f64::from(gb[k]) - want).abs() < 1e-6, "gb {gb:?}");
            for c in 0..f {
                let want =
                    1.0 + (0..n).map(|j| want_dh[j * o + k] * f64::from(x[j * f + c])).sum::<f64>();
                assert!((f64::from(gw[k * f + c]) - want).abs() < 1e-6, "gw {gw:?}");
            }
        }
        for j in 0..n {
            for c in 0..f {
                let want: f64 = (0..o).map(|k| f64::from(w[k * f + c]) * want_dh[j * o + k]).sum();
                assert!((f64::from(dx[j * f + c]) - want).abs() < 1e-6, "dx {dx:?}");
            }
        }
        for (g, w) in dh.iter().zip(want_dh) {
            assert!((f64::from(*g) - w).abs() < 1e-6, "dh {dh:?}");
        }
        // without dx: the same parameter gradients added again
        let (gw1, gb1) = (gw, gb);
        gcn_backward(n, f, o, &a_hat, &x, &w, &dy, &mut dh, None, &mut gw, &mut gb);
        for (g, g1) in gw.iter().zip(gw1) {
            assert!((g - 1.0 - 2.0 * (g1 - 1.0)).abs() < 1e-5, "{gw:?}");
        }
        for (g, g1) in gb.iter().zip(gb1) {
            assert!((g + 1.0 - 2.0 * (g1 + 1.0)).abs() < 1e-5, "{gb:?}");
        }
    }

    /// Buffers shorter than the shapes say: the rows they hold are written, no panic.
    #[test]
    fn short_buffers_do_not_panic() {
        let a_hat = [1.0, 0.0, 0.0, 1.0];
        let (x, w, b) = ([1.0, 2.0], [3.0], [0.5]);
        let (mut h, mut y) = ([0.0; 2], [0.0; 1]);
        gcn_forward(2, 1, 1, &a_hat, &x, &w, &b, &mut h, &mut y);
        assert_eq!(y, [3.5]);
        let (mut dh, mut dx, mut gw, mut gb) = ([0.0; 1], [0.0; 1], [0.0; 1], [0.0; 1]);
        gcn_backward(
            2,
            1,
            1,
            &a_hat,
            &x,
            &w,
            &[1.0, 1.0],
            &mut dh,
            Some(&mut dx),
            &mut gw,
            &mut gb,
        );
        assert_eq!((dh, dx, gw, gb), ([1.0], [3.0], [1.0], [2.0]));
    }
}
