//! A tiny seeded random number generator (PCG32, XSH-RR variant of O'Neill's PCG family).
//!
//! Every API that needs randomness (initialisers, shuffling) takes `&mut Rng`; there is no
//! global generator, so a seed reproduces a training run bit for bit on every target.

use crate::math;

/// PCG32 generator: 64-bit state, 32-bit output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rng {
    state: u64,
    inc: u64,
}

const MULTIPLIER: u64 = 6_364_136_223_846_793_005;

impl Rng {
    /// A generator for `seed`, set up as pcg_basic's `pcg32_srandom_r(seed,
    /// 0xda3e39cb94b95bdb)`: the constant is the stream id, so the increment is
    /// `(0xda3e39cb94b95bdb << 1) | 1`. pcg_basic's `PCG32_INITIALIZER` uses the same constant
    /// as the increment itself, so this is not that stream. `tests/tests/edges.rs` compares
    /// the first outputs with a port of the reference implementation.
    pub const fn new(seed: u64) -> Self {
        let inc = (0xda3e_39cb_94b9_5bdb_u64 << 1) | 1;
        // Reference seeding: state = 0; step; state += seed; step.
        let mut state = 0u64.wrapping_mul(MULTIPLIER).wrapping_add(inc);
        state = state.wrapping_add(seed);
        state = state.wrapping_mul(MULTIPLIER).wrapping_add(inc);
        Self { state, inc }
    }

    /// Next 32 random bits.
    pub fn next_u32(&mut self) -> u32 {
        let old = self.state;
        self.state = old.wrapping_mul(MULTIPLIER).wrapping_add(self.inc);
        let xorshifted = (((old >> 18) ^ old) >> 27) as u32;
        let rot = (old >> 59) as u32;
        xorshifted.rotate_right(rot)
    }

    /// Uniform in `[0, 1)`, 24 random bits.
    pub fn uniform(&mut self) -> f32 {
        (self.next_u32() >> 8) as f32 * (1.0 / 16_777_216.0)
    }

    /// Uniform in `[low, high)`.
    pub fn uniform_range(&mut self, low: f32, high: f32) -> f32 {
        low + (high - low) * self.uniform()
    }

    /// Standard normal sample (Box-Muller, one of the pair).
    pub fn normal(&mut self) -> f32 {
        // u1 in (0, 1] so that ln(u1) is finite.
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        math::sqrt(-2.0 * math::ln(u1)) * math::cos(core::f32::consts::TAU * u2)
    }

    /// Uniform integer in `0..n` (Lemire's multiply-shift; `n` must be at most `u32::MAX`).
    /// Returns 0 for `n == 0`.
    pub fn below(&mut self, n: usize) -> usize {
        ((u64::from(self.next_u32()) * n as u64) >> 32) as usize
    }

    /// Fisher-Yates shuffle in place.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_moments() {
        let mut a = Rng::new(42);
        let mut b = Rng::new(42);
        assert_eq!(a.next_u32(), b.next_u32());
        assert_ne!(Rng::new(1).next_u32(), Rng::new(2).next_u32());
        let n = 20_000;
        let (mut s, mut s2) = (0.0f64, 0.0f64);
        for _ in 0..n {
            let z = f64::from(a.normal());
            s += z;
            s2 += z * z;
        }
        let mean = s / f64::from(n);
        let var = s2 / f64::from(n) - mean * mean;
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "var {var}");
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut rng = Rng::new(7);
        let mut v = [0usize, 1, 2, 3, 4, 5, 6, 7, 8, 9];
        rng.shuffle(&mut v);
        let mut sorted = v;
        sorted.sort_unstable();
        assert_eq!(sorted, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert_ne!(v, sorted);
    }
}
