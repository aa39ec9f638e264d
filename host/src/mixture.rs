//! The 2-D ring of Gaussians that GAN papers test mode collapse on: `modes` isotropic
//! Gaussians of standard deviation `std` with means evenly spaced on a circle of radius
//! `radius` (mode `k` at angle `2 pi k / modes`), a seeded sampler, the mode-coverage metric
//! and a scatter PNG of real against generated points.

use neurite::math;
use neurite::rng::Rng;
use plotters::prelude::*;
use std::path::Path;

/// The mixture: equal weights.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ring {
    /// Number of modes.
    pub modes: usize,
    /// Radius of the circle of means.
    pub radius: f32,
    /// Standard deviation of each mode (both coordinates).
    pub std: f32,
}

impl Default for Ring {
    /// Eight modes on a circle of radius 2, standard deviation 0.05.
    fn default() -> Self {
        Self { modes: 8, radius: 2.0, std: 0.05 }
    }
}

/// What [`Ring::coverage`] measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Coverage {
    /// Points within `3 std` of each mode's mean.
    pub per_mode: Vec<usize>,
    /// Modes holding at least the stated fraction of the points.
    pub covered: usize,
    /// Fraction of the points within `3 std` of some mode ("high-quality" samples).
    pub high_quality: f32,
}

impl Ring {
    /// Mean of mode `k`: `radius (cos(2 pi k / modes), sin(2 pi k / modes))`.
    pub fn centre(&self, k: usize) -> (f32, f32) {
        let a = core::f32::consts::TAU * k as f32 / self.modes as f32;
        (self.radius * math::cos(a), self.radius * math::sin(a))
    }

    /// Appends `n` points (`x, y` pairs): a uniform mode, then Gaussian noise around it.
    pub fn sample(&self, rng: &mut Rng, n: usize, out: &mut Vec<f32>) {
        for _ in 0..n {
            let (cx, cy) = self.centre(rng.below(self.modes));
            out.push(cx + self.std * rng.normal());
            out.push(cy + self.std * rng.normal());
        }
    }

    /// Counts the points (`x, y` pairs) within `3 std` of each mode; a mode is covered when it
    /// holds at least `min_fraction` of all the points.
    pub fn coverage(&self, points: &[f32], min_fraction: f32) -> Coverage {
        let mut per_mode = vec![0usize; self.modes];
        let r2 = (3.0 * self.std).powi(2);
        let centres: Vec<(f32, f32)> = (0..self.modes).map(|k| self.centre(k)).collect();
        let n = points.len() / 2;
        for p in points.chunks_exact(2) {
            // the modes are further apart than 6 std in any useful ring: at most one matches
            if let Some(k) =
                centres.iter().position(|&(cx, cy)| (p[0] - cx).powi(2) + (p[1] - cy).powi(2) <= r2)
            {
                per_mode[k] += 1;
            }
        }
        let hits: usize = per_mode.iter().sum();
        let covered =
            per_mode.iter().filter(|&&c| c as f32 >= min_fraction * n as f32 && c > 0).count();
        Coverage { per_mode, covered, high_quality: hits as f32 / n.max(1) as f32 }
    }
}

/// Writes a 600x600 PNG scatter of `real` (blue) and `generated` (red) points (`x, y` pairs)
/// over `[-extent, extent]^2`, with a grey circle of radius `3 std` around each of `ring`'s
/// means.
pub fn write_scatter(
    path: &Path,
    ring: &Ring,
    real: &[f32],
    generated: &[f32],
    extent: f32,
) -> Result<(), Box<dyn std::error::Error>> {
    if !(extent.is_finite() && extent > 0.0) {
        return Err("the extent must be a positive number".into());
    }
    let side = 600i32;
    let root = BitMapBackend::new(path, (side as u32, side as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    let to_px = |x: f32, y: f32| -> (i32, i32) {
        let s = side as f32 / (2.0 * extent);
        (((x + extent) * s).round() as i32, ((extent - y) * s).round() as i32)
    };
    let ring_px = (3.0 * ring.std * side as f32 / (2.0 * extent)).round().max(2.0) as i32;
    for k in 0..ring.modes {
        let (cx, cy) = ring.centre(k);
        root.draw(&Circle::new(to_px(cx, cy), ring_px, RGBColor(160, 160, 160).stroke_width(1)))?;
    }
    for (points, color) in [(real, RGBColor(40, 90, 220)), (generated, RGBColor(220, 40, 40))] {
        for p in points.chunks_exact(2) {
            if p[0].is_finite() && p[1].is_finite() {
                root.draw(&Circle::new(to_px(p[0], p[1]), 1, color.mix(0.5).filled()))?;
            }
        }
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const RING: Ring = Ring { modes: 4, radius: 2.0, std: 0.5 };

    #[test]
    fn centres_are_evenly_spaced_on_the_circle() {
        for (k, want) in [(0, (2.0, 0.0)), (1, (0.0, 2.0)), (2, (-2.0, 0.0)), (3, (0.0, -2.0))] {
            let (x, y) = RING.centre(k);
            assert!((x - want.0).abs() < 1e-6 && (y - want.1).abs() < 1e-6, "{k}: {x} {y}");
        }
        assert_eq!(Ring::default(), Ring { modes: 8, radius: 2.0, std: 0.05 });
    }

    /// A sample is a uniform mode (one `below` draw) plus `std` times two normal draws.
    #[test]
    fn samples_are_a_mode_plus_noise() {
        let mut out = vec![7.0];
        RING.sample(&mut Rng::new(5), 50, &mut out);
        assert_eq!((out.len(), out[0]), (101, 7.0));
        let mut rng = Rng::new(5);
        for p in out[1..].chunks_exact(2) {
            let (cx, cy) = RING.centre(rng.below(4));
            let want = [cx + 0.5 * rng.normal(), cy + 0.5 * rng.normal()];
            assert_eq!(p, want);
        }
    }

    #[test]
    fn coverage_counts_the_points_within_three_std() {
        // 3 std = 1.5: mode 0 at (2, 0) gets 3 (one exactly on the boundary), mode 1 at
        // (0, 2) one; (-2, 1.6) is 1.6 from mode 2; (9, 9) is far from all
        let points = [2.0, 0.0, 2.1, -0.2, 3.5, 0.0, 0.0, 2.5, -2.0, 1.6, 9.0, 9.0];
        let c = RING.coverage(&points, 0.2);
        assert_eq!(c, Coverage { per_mode: vec![3, 1, 0, 0], covered: 1, high_quality: 4.0 / 6.0 });
        assert_eq!(RING.coverage(&points, 0.1).covered, 2);
        assert_eq!(RING.coverage(&points, 0.0).covered, 2);
        assert_eq!(RING.coverage(&[], 0.1).high_quality, 0.0);
    }

    #[test]
    fn scatter_writes_a_png_and_refuses_a_bad_extent() {
        let path = std::env::temp_dir().join(format!("neurite-mixture-{}.png", std::process::id()));
        assert!(write_scatter(&path, &RING, &[2.0, 0.0], &[0.0, 2.0], 0.0).is_err());
        assert!(write_scatter(&path, &RING, &[2.0, 0.0], &[0.0, 2.0], f32::NAN).is_err());
        write_scatter(&path, &RING, &[2.0, 0.0], &[0.0, 2.0, f32::NAN, 1.0], 3.0).expect("png");
        let bytes = std::fs::read(&path).expect("written");
        let _ = std::fs::remove_file(&path);
        assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 1000, "{}", bytes.len());
    }
}
