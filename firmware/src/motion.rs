//! Simulated body motion for the activity classifier: what a wrist-worn 3-axis accelerometer
//! feels, in g, sampled at [`RATE_HZ`], for four activities. Synthetic, not recorded: each
//! window draws its own orientation, frequency, amplitude and phase from a seeded [`Rng`], so
//! the host's training data and the device's stream come from the same deterministic source.
//!
//! Per step `t` (time `t / RATE_HZ`), with gravity `g` (1 g, tilted up to 0.6 rad from `z`),
//! `u` a unit vector perpendicular to it and `n` Gaussian noise:
//! - still: `g + 0.015 n`;
//! - walk (1.5-2.2 Hz, `A` 0.15-0.35 g) and run (2.4-3.2 Hz, `A` 0.5-0.9 g):
//!   `g + A (sin(wt + p) + 0.3 sin(2wt + q)) g_hat + 0.4 A sin(wt / 2 + r) u + s n`
//!   (the bounce along gravity, its harmonic, the sway at half the step rate; `s` 0.03, 0.06);
//! - shake (5-8 Hz, `A` 0.15-0.4 g along a random direction `d`): `g + A sin(wt + p) d + 0.02 n`.

use neurite::math::{cos, sqrt};
use neurite::prelude::Rng;

/// Samples per second.
pub const RATE_HZ: f32 = 25.0;
/// Time steps per window (1.28 s).
pub const WINDOW: usize = 32;
/// Axes per sample.
pub const AXES: usize = 3;
/// The activities, by label.
pub const ACTIVITIES: [&str; 4] = ["still", "walk", "run", "shake"];
/// Number of activities.
pub const CLASSES: usize = ACTIVITIES.len();

const TAU: f32 = core::f32::consts::TAU;

/// One window of one activity: its drawn parameters and its noise source.
#[derive(Clone, Debug)]
pub struct Motion {
    activity: u8,
    gravity: [f32; 3],
    along: [f32; 3],
    across: [f32; 3],
    freq: f32,
    amplitude: f32,
    phases: [f32; 3],
    noise: f32,
    rng: Rng,
}

fn sin(x: f32) -> f32 {
    libm::sinf(x)
}

fn unit(v: [f32; 3]) -> [f32; 3] {
    let n = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    v.map(|x| x / n)
}

fn cross(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

impl Motion {
    /// A window of `activity` (a label below [`CLASSES`]; others are `still`), its parameters
    /// drawn from `rng`.
    pub fn new(activity: u8, rng: &mut Rng) -> Self {
        let tilt = rng.uniform_range(0.0, 0.6);
        let azimuth = rng.uniform_range(0.0, TAU);
        let (st, ct) = (sin(tilt), cos(tilt));
        let gravity = [st * cos(azimuth), st * sin(azimuth), ct];
        let along = gravity;
        let across = unit(cross(gravity, [cos(azimuth + 1.0), sin(azimuth + 1.0), 0.0]));
        let (freq, amplitude, noise) = match activity {
            1 => (rng.uniform_range(1.5, 2.2), rng.uniform_range(0.15, 0.35), 0.03),
            2 => (rng.uniform_range(2.4, 3.2), rng.uniform_range(0.5, 0.9), 0.06),
            3 => (rng.uniform_range(5.0, 8.0), rng.uniform_range(0.15, 0.4), 0.02),
            _ => (0.0, 0.0, 0.015),
        };
        let shake_dir = unit([rng.normal(), rng.normal(), rng.normal()]);
        let along = if activity == 3 { shake_dir } else { along };
        let phases =
            [rng.uniform_range(0.0, TAU), rng.uniform_range(0.0, TAU), rng.uniform_range(0.0, TAU)];
        Self {
            activity,
            gravity,
            along,
            across,
            freq,
            amplitude,
            phases,
            noise,
            rng: Rng::new(u64::from(rng.next_u32()) << 32 | u64::from(rng.next_u32())),
        }
    }

    /// The activity's label.
    pub fn activity(&self) -> u8 {
        self.activity
    }

    /// The acceleration in g at step `t`.
    pub fn sample(&mut self, t: usize) -> [f32; 3] {
        let w = TAU * self.freq * (t as f32 / RATE_HZ);
        let [p, q, r] = self.phases;
        let a = self.amplitude;
        let (bounce, sway) = match self.activity {
            1 | 2 => (a * (sin(w + p) + 0.3 * sin(2.0 * w + q)), 0.4 * a * sin(0.5 * w + r)),
            3 => (a * sin(w + p), 0.0),
            _ => (0.0, 0.0),
        };
        core::array::from_fn(|k| {
            self.gravity[k]
                + bounce * self.along[k]
                + sway * self.across[k]
                + self.noise * self.rng.normal()
        })
    }
}

/// The activities of `N` windows as a prompted session asks for them: each block of
/// [`CLASSES`] windows is every activity once, in an order drawn from `seed`.
pub fn schedule<const N: usize>(seed: u64) -> [u8; N] {
    let mut rng = Rng::new(seed);
    let mut s = [0u8; N];
    for block in s.chunks_mut(CLASSES) {
        let mut order: [u8; CLASSES] = core::array::from_fn(|k| k as u8);
        rng.shuffle(&mut order);
        block.copy_from_slice(&order[..block.len()]);
    }
    s
}
