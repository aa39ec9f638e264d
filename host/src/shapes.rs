//! A seeded generator of synthetic segmentation images: filled discs, squares and bars on
//! Gaussian noise, each image with its binary foreground mask (the U-Net example's data,
//! [`crate::unet`]).
//!
//! One image is `side x side` pixels, one channel, row-major (row `y`, column `x`; pixel
//! `(x, y)` covers `[x, x + 1) x [y, y + 1)` and belongs to a shape when its centre
//! `(x + 0.5, y + 0.5)` does). It holds [`ShapesConfig::min_shapes`] to
//! [`ShapesConfig::max_shapes`] shapes, each of a kind drawn uniformly from [`ShapeKind`],
//! with lengths proportional to `side` (at side 32: discs of radius 3.2 to 7.0, squares of
//! side 6.4 to 12.8, bars 14.4 to 25.6 long and 2.6 to 4.5 thick at any angle) and an
//! intensity drawn from [`ShapesConfig::intensity`]. Shapes are painted in order (a later
//! shape covers an earlier one where they overlap), then every pixel gets independent
//! Gaussian noise of standard deviation [`ShapesConfig::noise`] on a background of 0. The
//! mask is 1 where any shape covers the pixel, else 0, whatever the noise.
//!
//! Everything comes from one [`Rng`] seeded with [`ShapesConfig::seed`], in a fixed order
//! (per image: the shape count; per shape: the kind, its geometry, its intensity; then the
//! noise of every pixel in row-major order), so a seed gives the same images on every
//! machine.

use neurite::rng::Rng;

/// The kinds of shape an image can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ShapeKind {
    /// A filled disc.
    Disc,
    /// A filled axis-aligned square.
    Square,
    /// A filled rectangle much longer than thick, at any angle.
    Bar,
}

impl ShapeKind {
    /// Every kind, in the order [`generate_shapes`] draws from.
    pub const ALL: [Self; 3] = [Self::Disc, Self::Square, Self::Bar];
}

/// One shape's geometry, in pixel units (pixel centres at `x + 0.5`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Shape {
    /// Centre and radius.
    Disc {
        /// Centre `(x, y)`.
        centre: (f32, f32),
        /// Radius.
        radius: f32,
    },
    /// Centre and half the side.
    Square {
        /// Centre `(x, y)`.
        centre: (f32, f32),
        /// Half the side.
        half: f32,
    },
    /// Centre, half length, half thickness and angle of the long axis (radians from the x
    /// axis).
    Bar {
        /// Centre `(x, y)`.
        centre: (f32, f32),
        /// Half the length (along the angle).
        half_length: f32,
        /// Half the thickness (across it).
        half_width: f32,
        /// Angle of the long axis.
        angle: f32,
    },
}

impl Shape {
    /// The kind of this shape.
    pub fn kind(&self) -> ShapeKind {
        match self {
            Self::Disc { .. } => ShapeKind::Disc,
            Self::Square { .. } => ShapeKind::Square,
            Self::Bar { .. } => ShapeKind::Bar,
        }
    }

    /// Whether the point `(px, py)` lies inside (boundary included).
    pub fn contains(&self, px: f32, py: f32) -> bool {
        match *self {
            Self::Disc { centre: (cx, cy), radius } => {
                let (dx, dy) = (px - cx, py - cy);
                dx * dx + dy * dy <= radius * radius
            }
            Self::Square { centre: (cx, cy), half } => {
                (px - cx).abs() <= half && (py - cy).abs() <= half
            }
            Self::Bar { centre: (cx, cy), half_length, half_width, angle } => {
                let (dx, dy) = (px - cx, py - cy);
                let (s, c) = angle.sin_cos();
                let along = dx * c + dy * s;
                let across = -dx * s + dy * c;
                along.abs() <= half_length && across.abs() <= half_width
            }
        }
    }
}

/// How the images are drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct ShapesConfig {
    /// Image side in pixels (at least 8). Default 32.
    pub side: usize,
    /// Fewest shapes per image (at least 1). Default 1.
    pub min_shapes: usize,
    /// Most shapes per image (at least `min_shapes`). Default 3.
    pub max_shapes: usize,
    /// Standard deviation of the Gaussian pixel noise. Default 0.3.
    pub noise: f32,
    /// Range `[low, high)` of a shape's intensity (the background is 0). Default `(0.5, 1.0)`.
    pub intensity: (f32, f32),
    /// Seed of the generator.
    pub seed: u64,
}

impl Default for ShapesConfig {
    fn default() -> Self {
        Self { side: 32, min_shapes: 1, max_shapes: 3, noise: 0.3, intensity: (0.5, 1.0), seed: 1 }
    }
}

/// Generated images and masks.
#[derive(Clone, Debug, PartialEq)]
pub struct ShapesSet {
    /// Image side in pixels.
    pub side: usize,
    /// One row of `side * side` pixel values per image (row-major).
    pub images: Vec<Vec<f32>>,
    /// One row of `side * side` values per image: 1 on a shape, 0 on the background.
    pub masks: Vec<Vec<f32>>,
    /// The shapes of each image, in painting order.
    pub shapes: Vec<Vec<Shape>>,
}

impl ShapesSet {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.images.len()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }
}

/// Draws one shape of `kind` on a `side`-pixel image.
fn draw_shape(kind: ShapeKind, side: f32, rng: &mut Rng) -> Shape {
    match kind {
        ShapeKind::Disc => {
            let radius = side * rng.uniform_range(0.10, 0.22);
            let centre = (
                rng.uniform_range(radius, side - radius),
                rng.uniform_range(radius, side - radius),
            );
            Shape::Disc { centre, radius }
        }
        ShapeKind::Square => {
            let half = side * rng.uniform_range(0.10, 0.20);
            let centre =
                (rng.uniform_range(half, side - half), rng.uniform_range(half, side - half));
            Shape::Square { centre, half }
        }
        ShapeKind::Bar => {
            let half_length = side * rng.uniform_range(0.225, 0.40);
            let half_width = side * rng.uniform_range(0.04, 0.07);
            let angle = rng.uniform_range(0.0, core::f32::consts::PI);
            // the centre in the middle 40%: the bar may leave the image only at its ends
            let centre = (side * rng.uniform_range(0.3, 0.7), side * rng.uniform_range(0.3, 0.7));
            Shape::Bar { centre, half_length, half_width, angle }
        }
    }
}

/// `count` images of `cfg` (see the module documentation), deterministic from `cfg.seed`.
/// `Err` for a side below 8, no shapes, `max_shapes < min_shapes`, a negative or non-finite
/// noise, or an empty or non-finite intensity range.
pub fn generate_shapes(cfg: &ShapesConfig, count: usize) -> Result<ShapesSet, String> {
    if cfg.side < 8 {
        return Err(format!("the image side must be at least 8 pixels, not {}", cfg.side));
    }
    if cfg.min_shapes == 0 || cfg.max_shapes < cfg.min_shapes {
        return Err(format!(
            "need 1 <= min_shapes <= max_shapes, found {} and {}",
            cfg.min_shapes, cfg.max_shapes
        ));
    }
    if !(cfg.noise.is_finite() && cfg.noise >= 0.0) {
        return Err(format!("the noise must be a non-negative number, not {}", cfg.noise));
    }
    let (lo, hi) = cfg.intensity;
    if !(lo.is_finite() && hi.is_finite() && lo < hi) {
        return Err(format!("the intensity range [{lo}, {hi}) is empty"));
    }
    let n = cfg.side;
    let side = n as f32;
    let mut rng = Rng::new(cfg.seed);
    let mut set = ShapesSet {
        side: n,
        images: Vec::with_capacity(count),
        masks: Vec::with_capacity(count),
        shapes: Vec::with_capacity(count),
    };
    for _ in 0..count {
        let shapes_here = cfg.min_shapes + rng.below(cfg.max_shapes - cfg.min_shapes + 1);
        let mut image = vec![0.0f32; n * n];
        let mut mask = vec![0.0f32; n * n];
        let mut shapes = Vec::with_capacity(shapes_here);
        for _ in 0..shapes_here {
            let kind = ShapeKind::ALL[rng.below(ShapeKind::ALL.len())];
            let shape = draw_shape(kind, side, &mut rng);
            let intensity = rng.uniform_range(lo, hi);
            for y in 0..n {
                for x in 0..n {
                    if shape.contains(x as f32 + 0.5, y as f32 + 0.5) {
                        image[y * n + x] = intensity;
                        mask[y * n + x] = 1.0;
                    }
                }
            }
            shapes.push(shape);
        }
        for v in &mut image {
            *v += cfg.noise * rng.normal();
        }
        set.images.push(image);
        set.masks.push(mask);
        set.shapes.push(shapes);
    }
    Ok(set)
}
