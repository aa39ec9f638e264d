//! The KL term of a variational autoencoder: a diagonal Gaussian against the standard normal.

use crate::math;

/// `KL(N(mu, diag(exp(logvar))) || N(0, I))` of one sample in closed form,
///
/// `KL = -1/2 sum_j (1 + logvar_j - mu_j^2 - exp(logvar_j))`,
///
/// with its gradient `d KL / d mu_j = mu_j` written into `dmu` and
/// `d KL / d logvar_j = (exp(logvar_j) - 1) / 2` into `dlogvar` (both overwritten, not added).
/// It equals PyTorch's
/// `kl_divergence(Normal(mu, exp(logvar / 2)), Normal(0, 1)).sum()`.
///
/// The sum runs over `j` in index order; slices of unequal lengths are cut to the shortest
/// (no panic). `exp` is the crate's [`math::exp`], as every other loss.
pub fn gaussian_kl(mu: &[f32], logvar: &[f32], dmu: &mut [f32], dlogvar: &mut [f32]) -> f32 {
    let mut total = 0.0f32;
    for (((&m, &lv), gm), glv) in mu.iter().zip(logvar).zip(dmu.iter_mut()).zip(dlogvar.iter_mut())
    {
        let var = math::exp(lv);
        total += 1.0 + lv - m * m - var;
        *gm = m;
        *glv = 0.5 * (var - 1.0);
    }
    -0.5 * total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_at_the_prior_and_positive_elsewhere() {
        let (mut dm, mut dl) = ([1.0f32; 3], [1.0f32; 3]);
        assert_eq!(gaussian_kl(&[0.0; 3], &[0.0; 3], &mut dm, &mut dl), 0.0);
        assert_eq!((dm, dl), ([0.0; 3], [0.0; 3]));
        // one dimension, mu = 1, logvar = 0: 1/2
        assert_eq!(gaussian_kl(&[1.0], &[0.0], &mut dm, &mut dl), 0.5);
        assert!(gaussian_kl(&[0.0], &[-1.0], &mut dm, &mut dl) > 0.0);
        // cut to the shortest slice
        assert_eq!(gaussian_kl(&[1.0, 1.0], &[0.0], &mut dm, &mut dl[..0]), 0.0);
    }
}
