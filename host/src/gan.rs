//! A generative adversarial network (Goodfellow et al.): a generator `G` (noise `z` to a
//! sample) and a discriminator `D` (sample to one logit), both runtime-shaped models, trained
//! against each other with BCE on logits and Adam.
//!
//! One training step, for a batch of `B` real rows `x` and `B` noise rows `z ~ N(0, I)`:
//!
//! - **D step**: `fake = G(z)` (inference, no gradient into `G`); `D` sees the `2B` rows
//!   `[x; fake]`; loss `mean_B BCE(D(x), 1) + mean_B BCE(D(fake), 0)`; Adam on `D`.
//! - **G step** (non-saturating): fresh `z`, `fake = G(z)` (training forward); loss
//!   `mean_B BCE(D(fake), 1)`, back-propagated through the **frozen** `D`
//!   ([`backward_through`]: `D`'s backward with the input gradient, its parameter gradients
//!   computed into a scratch buffer and discarded) into `dL/dfake`, which `G`'s backward
//!   takes as its output gradient; Adam on `G` only.
//!
//! Data: [`crate::mixture`] (a ring of Gaussians, `examples/gan_ring.rs`) and the digits
//! ([`DigitsGanData`], pixels scaled to `[-1, 1]` for a `tanh` output, [`train_digits_gan`],
//! `examples/gan_digits.rs`). Quality of generated digits: [`sample_quality`] (distance to
//! the nearest training digit, and that digit's class).

use crate::autoencoder::PIXEL_MAX;
use crate::data::Dataset;
use crate::dynamic::backend::DEFAULT;
use crate::dynamic::{Ctx, DynModel, DynOptimizer, DynOptimizerState, Workspace};
use neurite::init::LayerInit;
use neurite::loss::{BceWithLogits, Loss, Target};
use neurite::optim::AdamConfig;
use neurite::rng::Rng;
use neurite::Error;

/// Training plan.
#[derive(Clone, Debug, PartialEq)]
pub struct GanConfig {
    /// Generator spec: input `[noise]`, output one sample.
    pub generator: String,
    /// Discriminator spec: input one sample, output one logit.
    pub discriminator: String,
    /// Noise size.
    pub noise: usize,
    /// Training steps (one D step then one G step each).
    pub steps: usize,
    /// Real rows (and fake rows) per step.
    pub batch: usize,
    /// Adam learning rate of the generator.
    pub lr_g: f32,
    /// Adam learning rate of the discriminator.
    pub lr_d: f32,
    /// Adam's first-moment decay for both (GANs use 0.5; PyTorch's default is 0.9).
    pub beta1: f32,
    /// Seed of the initialisation, the noise and the real batches.
    pub seed: u64,
}

impl GanConfig {
    /// The ring of Gaussians ([`crate::mixture::Ring`]): noise 2, two hidden layers of 128
    /// in both models, 3,000 steps of 256 rows, Adam lr 1e-3 with beta1 0.5.
    pub fn ring() -> Self {
        Self {
            generator: RING_GENERATOR.into(),
            discriminator: RING_DISCRIMINATOR.into(),
            noise: 2,
            steps: 3000,
            batch: 256,
            lr_g: 1e-3,
            lr_d: 1e-3,
            beta1: 0.5,
            seed: 1,
        }
    }

    /// The 8x8 digits, pixels scaled to `[-1, 1]`: noise 16, a `tanh` generator, 10,000
    /// steps of 64 rows, Adam with beta1 0.5, lr 1e-3 for the generator and 2e-4 for the
    /// discriminator.
    pub fn digits() -> Self {
        Self {
            generator: DIGITS_GENERATOR.into(),
            discriminator: DIGITS_DISCRIMINATOR.into(),
            noise: 16,
            steps: 10_000,
            batch: 64,
            lr_g: 1e-3,
            lr_d: 2e-4,
            beta1: 0.5,
            seed: 1,
        }
    }
}

/// Generator of [`GanConfig::ring`]: 2 noise values -> 2-D point.
pub const RING_GENERATOR: &str = "dense(128),relu,dense(128),relu,dense(2)";
/// Discriminator of [`GanConfig::ring`]: 2-D point -> logit.
pub const RING_DISCRIMINATOR: &str =
    "dense(128),leaky_relu(0.2),dense(128),leaky_relu(0.2),dense(1)";
/// Generator of [`GanConfig::digits`]: 16 noise values -> 64 pixels in `[-1, 1]`.
pub const DIGITS_GENERATOR: &str = "dense(128),relu,dense(256),relu,dense(64),tanh";
/// Discriminator of [`GanConfig::digits`]: 64 pixels -> logit.
pub const DIGITS_DISCRIMINATOR: &str =
    "dense(256),leaky_relu(0.2),dense(128),leaky_relu(0.2),dense(1)";

/// The two losses of one step (means over the batch, nats).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GanLosses {
    /// `mean BCE(D(x), 1) + mean BCE(D(G(z)), 0)` before the D step.
    pub d: f64,
    /// `mean BCE(D(G(z)), 1)` before the G step.
    pub g: f64,
}

/// A generator and a discriminator.
#[derive(Clone, Debug)]
pub struct Gan {
    /// `[noise] -> sample`.
    pub generator: DynModel,
    /// `sample -> [1]` logit.
    pub discriminator: DynModel,
}

/// Buffers of the steps, reused across batches.
#[derive(Clone, Debug, Default)]
pub struct GanWorkspace {
    g: Workspace,
    d: Workspace,
    /// `[real; fake]` rows of the D step.
    rows: Vec<f32>,
    /// `dL/dlogit`.
    dlogit: Vec<f32>,
    /// The frozen discriminator's discarded parameter gradients.
    scratch: Vec<Vec<f32>>,
}

/// Backward through a frozen model: `d loss / d input` rows for the output gradient `dy` of
/// the batch of `frozen`'s last [`DynModel::forward_train`] in `ws`. The model's parameter
/// gradients are computed into `scratch` (resized and zeroed here) and are not used: nothing
/// of `frozen` changes. This is how a GAN's generator learns through its discriminator.
pub fn backward_through<'w>(
    frozen: &DynModel,
    ctx: &Ctx<'_>,
    ws: &'w mut Workspace,
    dy: &[f32],
    scratch: &mut Vec<Vec<f32>>,
) -> &'w [f32] {
    let lens: Vec<usize> = frozen.tensors().iter().map(|t| t.len()).collect();
    scratch.resize_with(lens.len(), Vec::new);
    for (s, n) in scratch.iter_mut().zip(lens) {
        s.clear();
        s.resize(n, 0.0);
    }
    frozen.backward(ctx, ws, dy, scratch, true).unwrap_or(&[])
}

/// BCE with logits of each logit against `target`, the gradient `dL/dlogit` divided by
/// `scale` written into `grad`; returns the sum of the losses.
fn bce_rows(logits: &[f32], target: f32, grad: &mut [f32], scale: f32) -> f64 {
    let bce = BceWithLogits { pos_weight: None };
    let mut sum = 0.0f64;
    for (x, g) in logits.iter().zip(grad) {
        let mut d = [0.0f32];
        sum += f64::from(bce.eval(&[*x], Target::Values(&[target]), &mut d, None));
        *g = d[0] / scale;
    }
    sum
}

impl Gan {
    /// Builds (uninitialised) the generator for `noise` inputs and the discriminator for
    /// samples of `dim` values, checking the generator gives `dim` values and the
    /// discriminator one.
    pub fn build(
        generator: &str,
        discriminator: &str,
        noise: usize,
        dim: usize,
    ) -> Result<Self, String> {
        if noise == 0 || dim == 0 {
            return Err("the noise and sample sizes must be positive".into());
        }
        let generator =
            DynModel::from_spec(generator, &[noise]).map_err(|e| format!("generator: {e}"))?;
        let discriminator = DynModel::from_spec(discriminator, &[dim])
            .map_err(|e| format!("discriminator: {e}"))?;
        if generator.outputs() != dim {
            return Err(format!(
                "the generator gives {} values; a sample has {dim}",
                generator.outputs()
            ));
        }
        if discriminator.outputs() != 1 {
            return Err(format!(
                "the discriminator gives {} values; it must give one logit",
                discriminator.outputs()
            ));
        }
        Ok(Self { generator, discriminator })
    }

    /// Noise size.
    pub fn noise(&self) -> usize {
        self.generator.inputs()
    }

    /// Values per sample.
    pub fn dim(&self) -> usize {
        self.discriminator.inputs()
    }

    /// Initialises both models (PyTorch's default `nn.Linear` initialisation, generator
    /// first).
    pub fn init(&mut self, rng: &mut Rng) {
        self.generator.init(&LayerInit::TORCH_DEFAULT, rng);
        self.discriminator.init(&LayerInit::TORCH_DEFAULT, rng);
    }

    /// `G(z)` for each of the `z.len() / noise` noise rows, concatenated (inference).
    pub fn generate(&self, z: &[f32]) -> Vec<f32> {
        let b = z.len() / self.noise();
        let mut ws = Workspace::default();
        self.generator.forward_batch(&DEFAULT, z, b, &mut ws).to_vec()
    }

    /// `n` samples from `G` with noise `z ~ N(0, I)` drawn from `rng`, concatenated.
    pub fn sample(&self, n: usize, rng: &mut Rng) -> Vec<f32> {
        let z: Vec<f32> = (0..n * self.noise()).map(|_| rng.normal()).collect();
        self.generate(&z)
    }

    /// The discriminator's step on `B` real rows `real` and noise rows `z`: returns
    /// `mean BCE(D(real), 1) + mean BCE(D(G(z)), 0)` and, with `grads`, adds its gradient
    /// with respect to `D`'s parameters into them. `G` runs in inference: it gets nothing.
    pub fn d_step(
        &mut self,
        real: &[f32],
        z: &[f32],
        ws: &mut GanWorkspace,
        grads: Option<&mut Vec<Vec<f32>>>,
    ) -> Result<f64, Error> {
        let (n, dim) = (self.noise(), self.dim());
        let b = real.len() / dim;
        if b == 0 || real.len() != b * dim {
            return Err(Error::LengthMismatch { expected: b.max(1) * dim, found: real.len() });
        }
        if z.len() != b * n {
            return Err(Error::LengthMismatch { expected: b * n, found: z.len() });
        }
        let fake = self.generator.forward_batch(&DEFAULT, z, b, &mut ws.g);
        ws.rows.clear();
        ws.rows.extend_from_slice(real);
        ws.rows.extend_from_slice(fake);
        let mut ctx = Ctx { train: true, rng: None, backend: &DEFAULT };
        let logits = self.discriminator.forward_train(&mut ctx, &ws.rows, 2 * b, &mut ws.d)?;
        ws.dlogit.resize(2 * b, 0.0);
        let (dr, df) = ws.dlogit.split_at_mut(b);
        let scale = b as f32;
        let loss = (bce_rows(&logits[..b], 1.0, dr, scale)
            + bce_rows(&logits[b..], 0.0, df, scale))
            / b as f64;
        if let Some(grads) = grads {
            self.discriminator.backward(&ctx, &mut ws.d, &ws.dlogit, grads, false);
        }
        Ok(loss)
    }

    /// The generator's step on noise rows `z`: returns `mean BCE(D(G(z)), 1)` (the
    /// non-saturating loss) and, with `grads`, adds its gradient with respect to `G`'s
    /// parameters into them, back-propagated through the frozen `D` ([`backward_through`]).
    pub fn g_step(
        &mut self,
        z: &[f32],
        ws: &mut GanWorkspace,
        grads: Option<&mut Vec<Vec<f32>>>,
    ) -> Result<f64, Error> {
        let n = self.noise();
        let b = z.len() / n;
        if b == 0 || z.len() != b * n {
            return Err(Error::LengthMismatch { expected: b.max(1) * n, found: z.len() });
        }
        let mut ctx = Ctx { train: true, rng: None, backend: &DEFAULT };
        let fake = self.generator.forward_train(&mut ctx, z, b, &mut ws.g)?;
        ws.rows.clear();
        ws.rows.extend_from_slice(fake);
        let logits = self.discriminator.forward_train(&mut ctx, &ws.rows, b, &mut ws.d)?;
        ws.dlogit.resize(b, 0.0);
        let loss = bce_rows(logits, 1.0, &mut ws.dlogit, b as f32) / b as f64;
        if let Some(grads) = grads {
            let dfake =
                backward_through(&self.discriminator, &ctx, &mut ws.d, &ws.dlogit, &mut ws.scratch);
            self.generator.backward(&ctx, &mut ws.g, dfake, grads, false);
        }
        Ok(loss)
    }
}

/// The losses of a run, averaged over windows of steps.
#[derive(Clone, Debug)]
pub struct GanReport {
    /// `(last step of the window, mean losses over the window)`, in order.
    pub history: Vec<(usize, GanLosses)>,
    /// The trained models.
    pub gan: Gan,
}

/// Trains the GAN of `cfg` on samples of `dim` values: `real(rng, batch, out)` appends
/// `batch` real rows to `out` (drawn with `rng`, the run's generator). Every `log_every`
/// steps `on_log(step, mean losses since the last call)` is called and the pair kept.
pub fn train_gan(
    cfg: &GanConfig,
    dim: usize,
    mut real: impl FnMut(&mut Rng, usize, &mut Vec<f32>),
    log_every: usize,
    mut on_log: impl FnMut(usize, &GanLosses),
) -> Result<GanReport, String> {
    if cfg.steps == 0 || cfg.batch == 0 || log_every == 0 {
        return Err("steps, batch and the logging interval must be positive".into());
    }
    let mut gan = Gan::build(&cfg.generator, &cfg.discriminator, cfg.noise, dim)?;
    let mut rng = Rng::new(cfg.seed);
    gan.init(&mut rng);
    let adam = |lr: f32, m: &DynModel| -> Result<DynOptimizerState, String> {
        let config = AdamConfig { betas: (cfg.beta1, 0.999), ..AdamConfig::adam(lr) };
        DynOptimizer::Adam(config, false).build_for(m).map_err(|e| e.to_string())
    };
    let mut opt_g = adam(cfg.lr_g, &gan.generator)?;
    let mut opt_d = adam(cfg.lr_d, &gan.discriminator)?;
    let (mut ws, mut x, mut z) = (GanWorkspace::default(), Vec::new(), Vec::new());
    let (mut grads_g, mut grads_d) = (gan.generator.zero_grads(), gan.discriminator.zero_grads());
    let mut window = (GanLosses::default(), 0usize);
    let mut history = Vec::new();
    for step in 1..=cfg.steps {
        x.clear();
        real(&mut rng, cfg.batch, &mut x);
        z.clear();
        z.extend((0..cfg.batch * cfg.noise).map(|_| rng.normal()));
        grads_d.iter_mut().for_each(|g| g.fill(0.0));
        let d = gan.d_step(&x, &z, &mut ws, Some(&mut grads_d)).map_err(|e| e.to_string())?;
        opt_d.step(&mut gan.discriminator.tensors_mut(), &grads_d);
        z.clear();
        z.extend((0..cfg.batch * cfg.noise).map(|_| rng.normal()));
        grads_g.iter_mut().for_each(|g| g.fill(0.0));
        let g = gan.g_step(&z, &mut ws, Some(&mut grads_g)).map_err(|e| e.to_string())?;
        opt_g.step(&mut gan.generator.tensors_mut(), &grads_g);
        if !(d.is_finite() && g.is_finite()) {
            return Err(format!("training diverged at step {step} (D loss {d}, G loss {g})"));
        }
        window.0.d += d;
        window.0.g += g;
        window.1 += 1;
        if step % log_every == 0 || step == cfg.steps {
            let k = window.1 as f64;
            let mean = GanLosses { d: window.0.d / k, g: window.0.g / k };
            on_log(step, &mean);
            history.push((step, mean));
            window = (GanLosses::default(), 0);
        }
    }
    Ok(GanReport { history, gan })
}

/// For each row of `queries` (rows of `dim` values): `(Euclidean distance to the nearest row
/// of `reference`, that row's index)`. Exhaustive search, distances in `f64`; ties keep the
/// first row.
pub fn nearest_distances(queries: &[f32], reference: &[f32], dim: usize) -> Vec<(f64, usize)> {
    queries
        .chunks_exact(dim)
        .map(|q| {
            let mut best = (f64::INFINITY, 0);
            for (i, r) in reference.chunks_exact(dim).enumerate() {
                let d2: f64 = q.iter().zip(r).map(|(&a, &b)| f64::from(a - b).powi(2)).sum();
                if d2 < best.0 {
                    best = (d2, i);
                }
            }
            (best.0.sqrt(), best.1)
        })
        .collect()
}

/// How close generated rows lie to real ones ([`sample_quality`]).
#[derive(Clone, Debug, PartialEq)]
pub struct SampleQuality {
    /// Mean distance from each row to its nearest reference row, times `scale`.
    pub mean_nearest: f64,
    /// How many rows have their nearest reference row in each class.
    pub class_counts: Vec<usize>,
}

impl SampleQuality {
    /// Classes whose share of the rows is at least `min_fraction`.
    pub fn classes_covered(&self, min_fraction: f64) -> usize {
        let n: usize = self.class_counts.iter().sum();
        self.class_counts.iter().filter(|&&c| c > 0 && c as f64 >= min_fraction * n as f64).count()
    }
}

/// The mean distance (times `scale`: data units) from each row of `rows` to its nearest row
/// of `reference` ([`nearest_distances`]), and the class distribution of those nearest rows
/// (`labels[i]` the class of reference row `i`, below `classes`): a 1-nearest-neighbour
/// classifier's view of generated samples.
pub fn sample_quality(
    rows: &[f32],
    reference: &[f32],
    labels: &[usize],
    classes: usize,
    dim: usize,
    scale: f64,
) -> SampleQuality {
    let near = nearest_distances(rows, reference, dim);
    let mut class_counts = vec![0usize; classes];
    for &(_, i) in &near {
        if let Some(c) = labels.get(i).and_then(|&c| class_counts.get_mut(c)) {
            *c += 1;
        }
    }
    let mean = near.iter().map(|(d, _)| d).sum::<f64>() / near.len().max(1) as f64;
    SampleQuality { mean_nearest: mean * scale, class_counts }
}

/// The digits as a GAN sees them: the canonical split, pixels `v` (0..=16) mapped to
/// `2 v / 16 - 1` in `[-1, 1]` (a `tanh` generator's range), 64 values a row.
#[derive(Clone, Debug, PartialEq)]
pub struct DigitsGanData {
    /// Training rows (what the GAN learns from).
    pub train: Vec<f32>,
    /// Test rows (real digits it never sees): their [`DigitsGanData::quality`] is the figure
    /// a generator matching the data would reach. The distance is to the nearest *training*
    /// digit, so a generator that copied training digits would score 0: it measures that
    /// samples look like digits, not that they are new ones (the PNG shows that).
    pub test: Vec<f32>,
    /// Class of each training row.
    pub labels: Vec<usize>,
}

impl DigitsGanData {
    /// Values per row.
    pub const DIM: usize = 64;

    /// From the digits dataset (64 pixel columns, 0..=16, and the class).
    pub fn new(data: &Dataset) -> Result<Self, String> {
        if data.n_features != Self::DIM {
            return Err(format!("the digits have 64 pixel columns, not {}", data.n_features));
        }
        let (train, test) = data.canonical_split();
        let unit = |d: &Dataset| d.features.iter().map(|&v| 2.0 * v / PIXEL_MAX - 1.0).collect();
        let labels = train.classes().map_err(|row| format!("train row {row}: not a class"))?;
        Ok(Self { train: unit(&train), test: unit(&test), labels })
    }

    /// [`sample_quality`] of `rows` (in `[-1, 1]`) against the training rows: distances in
    /// pixel units (0..=16), the classes of the nearest training digits.
    pub fn quality(&self, rows: &[f32]) -> SampleQuality {
        let scale = f64::from(PIXEL_MAX) / 2.0;
        sample_quality(rows, &self.train, &self.labels, 10, Self::DIM, scale)
    }
}

/// [`train_gan`] on the training digits of `data`, each real row drawn uniformly (with
/// replacement) by the run's generator.
pub fn train_digits_gan(
    cfg: &GanConfig,
    data: &DigitsGanData,
    log_every: usize,
    on_log: impl FnMut(usize, &GanLosses),
) -> Result<GanReport, String> {
    let dim = DigitsGanData::DIM;
    let rows = data.train.len() / dim;
    if rows == 0 {
        return Err("no training digits".into());
    }
    let real = |rng: &mut Rng, n: usize, out: &mut Vec<f32>| {
        for _ in 0..n {
            let i = rng.below(rows);
            out.extend_from_slice(&data.train[i * dim..(i + 1) * dim]);
        }
    };
    train_gan(cfg, dim, real, log_every, on_log)
}
