//! Embedding lookup (PyTorch's `nn.Embedding`): each token index selects one row of a
//! `[V][D]` table. Tokens arrive as `f32` values (a model's input is `f32`); a value that is
//! not an integer in `0..V` selects nothing: its output row is zero and it gets no gradient
//! (PyTorch raises an error there; the CLI refuses such data before training).

/// The row index of token value `v` in a table of `vocab` rows, if `v` is one.
#[inline]
pub fn token(v: f32, vocab: usize) -> Option<usize> {
    let i = v as usize; // saturating; NaN to 0, refused by `v >= 0.0` below
    (v >= 0.0 && i < vocab && i as f32 == v).then_some(i)
}

/// `y[t] = weight[tokens[t]]` (`D` values each); a zero row for a value that is not a token.
/// Shapes: `weight` `[V][D]`, `y` `[T][D]` for `T = tokens.len()` (shorter buffers: the rows
/// they cover).
pub fn forward(weight: &[f32], dim: usize, tokens: &[f32], y: &mut [f32]) {
    if dim == 0 {
        return;
    }
    let vocab = weight.len() / dim;
    for (&v, row) in tokens.iter().zip(y.chunks_exact_mut(dim)) {
        match token(v, vocab) {
            Some(i) => row.copy_from_slice(&weight[i * dim..(i + 1) * dim]),
            None => row.fill(0.0),
        }
    }
}

/// `gw[tokens[t]] += dy[t]`, for `t` ascending (the gradient of a repeated token sums in
/// sequence order). Tokens are not differentiable: there is no input gradient.
pub fn backward(tokens: &[f32], dim: usize, dy: &[f32], gw: &mut [f32]) {
    if dim == 0 {
        return;
    }
    let vocab = gw.len() / dim;
    for (&v, d) in tokens.iter().zip(dy.chunks_exact(dim)) {
        if let Some(i) = token(v, vocab) {
            for (g, &x) in gw[i * dim..(i + 1) * dim].iter_mut().zip(d) {
                *g += x;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_and_gradient_by_hand() {
        let w = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // 3 tokens of 2
        let mut y = [9.0; 8];
        forward(&w, 2, &[2.0, 0.0, 2.5, 3.0], &mut y);
        assert_eq!(y, [5.0, 6.0, 1.0, 2.0, 0.0, 0.0, 0.0, 0.0]);
        let mut gw = [0.0; 6];
        backward(&[2.0, 0.0, 2.0, -1.0], 2, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], &mut gw);
        assert_eq!(gw, [3.0, 4.0, 0.0, 0.0, 6.0, 8.0]);
        assert_eq!(token(f32::NAN, 3), None);
        assert_eq!(token(-0.0, 3), Some(0));
        assert_eq!(token(1e30, 3), None);
    }
}
