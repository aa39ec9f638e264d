//! A variational autoencoder (Kingma and Welling), by default on the 8x8 digits: an encoder
//! model giving a diagonal Gaussian `q(z | x) = N(mu, diag(exp(logvar)))`, a decoder model
//! giving Bernoulli logits per pixel, trained on the negative ELBO with the
//! reparameterisation trick; reconstruction error on the canonical split against the
//! mean-image baseline, and PNG grids of samples decoded from the prior.
//!
//! Shapes, for a batch of `B` rows of `n` values (pixels divided by [`PIXEL_MAX`], so in
//! `[0, 1]`) and a latent size `L`:
//!
//! - encoder: `[B, n] -> [B, 2L]`, each row `mu` (first `L` values) then `logvar`;
//! - `z = mu + exp(logvar / 2) * eps`, `eps ~ N(0, I)` from the seeded [`Rng`]: `[B, L]`;
//! - decoder: `[B, L] -> [B, n]` logits; `p = sigmoid(logits)` is the reconstruction.
//!
//! Loss per sample: `sum_pixels BCEWithLogits(logits, x) + beta * KL`, with
//! `KL = -1/2 sum_j (1 + logvar_j - mu_j^2 - exp(logvar_j))` ([`gaussian_kl`]); the batch
//! loss is its mean over the samples. Backward: the decoder's backward with the input
//! gradient gives `dL/dz`; then `dL/dmu = dL/dz + beta mu` and
//! `dL/dlogvar = dL/dz * eps * exp(logvar / 2) / 2 + beta (exp(logvar) - 1) / 2`, which the
//! encoder's backward takes as its output gradient ([`Vae::step`]).
//!
//! `cargo run --release -p neurite-host --example vae_digits` runs it.

use crate::autoencoder::PIXEL_MAX;
use crate::data::Dataset;
use crate::dynamic::backend::DEFAULT;
use crate::dynamic::{Ctx, DynModel, DynOptimizer, Workspace};
use neurite::init::LayerInit;
use neurite::loss::{gaussian_kl, BceWithLogits, Loss, Target};
use neurite::math;
use neurite::optim::AdamConfig;
use neurite::rng::Rng;
use neurite::Error;

/// The default encoder's spec for a latent size of `latent`: 128 hidden units, then
/// `2 * latent` values (`mu`, `logvar`): the default latent size 8 gives 64 pixels -> 128
/// -> 16.
pub fn encoder_spec(latent: usize) -> String {
    format!("dense(128),relu,dense({})", 2 * latent)
}

/// Decoder: 8 latent values -> 128 -> 64 pixel logits.
pub const DECODER_SPEC: &str = "dense(128),relu,dense(64)";

/// Training plan.
#[derive(Clone, Debug, PartialEq)]
pub struct VaeConfig {
    /// Encoder spec: input `[n]`, output `2 * latent` values (`mu` then `logvar`).
    pub encoder: String,
    /// Decoder spec: input `[latent]`, output `n` logits.
    pub decoder: String,
    /// Latent size `L`.
    pub latent: usize,
    /// Weight of the KL term (1: the ELBO; other values: a beta-VAE).
    pub beta: f32,
    /// Passes over the training rows.
    pub epochs: usize,
    /// Minibatch size.
    pub batch: usize,
    /// Adam learning rate (both models).
    pub lr: f32,
    /// Seed of the initialisation, the shuffling, the noise `eps` and the prior samples.
    pub seed: u64,
}

impl Default for VaeConfig {
    fn default() -> Self {
        Self {
            encoder: encoder_spec(8),
            decoder: DECODER_SPEC.into(),
            latent: 8,
            beta: 1.0,
            epochs: 150,
            batch: 32,
            lr: 0.002,
            seed: 1,
        }
    }
}

/// The two halves of the per-sample loss, each the mean over a batch's samples (nats).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct VaeLoss {
    /// Reconstruction term: BCE with logits summed over a sample's values.
    pub recon: f64,
    /// KL term (unweighted by beta).
    pub kl: f64,
}

impl VaeLoss {
    /// The trained objective `recon + beta * kl`.
    pub fn total(&self, beta: f32) -> f64 {
        self.recon + f64::from(beta) * self.kl
    }

    /// The evidence lower bound `-(recon + kl)` (beta 1), in nats per sample.
    pub fn elbo(&self) -> f64 {
        -(self.recon + self.kl)
    }
}

/// Gradients of both models, in [`DynModel::tensors`] order.
#[derive(Clone, Debug, PartialEq)]
pub struct VaeGrads {
    /// The encoder's.
    pub encoder: Vec<Vec<f32>>,
    /// The decoder's.
    pub decoder: Vec<Vec<f32>>,
}

/// Buffers of [`Vae::step`], reused across batches.
#[derive(Clone, Debug, Default)]
pub struct VaeWorkspace {
    enc: Workspace,
    dec: Workspace,
    /// Encoder output rows (`mu`, `logvar`).
    h: Vec<f32>,
    /// Latent samples.
    z: Vec<f32>,
    /// `dL/dlogits`, then `dL/dh` (the encoder's output gradient).
    dlogits: Vec<f32>,
    dh: Vec<f32>,
}

/// An encoder and a decoder.
#[derive(Clone, Debug)]
pub struct Vae {
    /// `[n] -> [2L]`: `mu` then `logvar`.
    pub encoder: DynModel,
    /// `[L] -> [n]` logits.
    pub decoder: DynModel,
}

impl Vae {
    /// Builds (uninitialised) the encoder for `inputs` values and the decoder for `latent`
    /// values, checking that the encoder gives `2 * latent` values and the decoder `inputs`.
    pub fn build(
        encoder: &str,
        decoder: &str,
        inputs: usize,
        latent: usize,
    ) -> Result<Self, String> {
        if inputs == 0 || latent == 0 {
            return Err("the input and latent sizes must be positive".into());
        }
        let encoder =
            DynModel::from_spec(encoder, &[inputs]).map_err(|e| format!("encoder: {e}"))?;
        let decoder =
            DynModel::from_spec(decoder, &[latent]).map_err(|e| format!("decoder: {e}"))?;
        if encoder.outputs() != 2 * latent {
            return Err(format!(
                "the encoder gives {} values; a latent size of {latent} needs {} (mu, logvar)",
                encoder.outputs(),
                2 * latent
            ));
        }
        if decoder.outputs() != inputs {
            return Err(format!(
                "the decoder gives {} values; the input has {inputs}",
                decoder.outputs()
            ));
        }
        Ok(Self { encoder, decoder })
    }

    /// Latent size `L`.
    pub fn latent(&self) -> usize {
        self.decoder.inputs()
    }

    /// Values per sample `n`.
    pub fn inputs(&self) -> usize {
        self.encoder.inputs()
    }

    /// Initialises both models (He-uniform weights, encoder first).
    pub fn init(&mut self, rng: &mut Rng) {
        self.encoder.init(&LayerInit::HE_RELU, rng);
        self.decoder.init(&LayerInit::HE_RELU, rng);
    }

    /// Zeroed gradients of both models.
    pub fn zero_grads(&self) -> VaeGrads {
        VaeGrads { encoder: self.encoder.zero_grads(), decoder: self.decoder.zero_grads() }
    }

    /// `(mu, logvar)` of each of the `rows.len() / n` rows, concatenated (inference).
    pub fn encode(&self, rows: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let (n, l) = (self.inputs(), self.latent());
        let b = rows.len() / n;
        let mut ws = Workspace::default();
        let h = self.encoder.forward_batch(&DEFAULT, rows, b, &mut ws);
        let mu = h.chunks_exact(2 * l).flat_map(|r| r[..l].to_vec()).collect();
        let logvar = h.chunks_exact(2 * l).flat_map(|r| r[l..].to_vec()).collect();
        (mu, logvar)
    }

    /// `sigmoid(decoder(z))` of each of the `z.len() / L` latent rows, concatenated: the
    /// Bernoulli means, on the training scale `[0, 1]`.
    pub fn decode(&self, z: &[f32]) -> Vec<f32> {
        let b = z.len() / self.latent();
        let mut ws = Workspace::default();
        self.decoder
            .forward_batch(&DEFAULT, z, b, &mut ws)
            .iter()
            .map(|&v| math::sigmoid(v))
            .collect()
    }

    /// `decode(mu(x))`: the deterministic reconstruction of each row of `rows`.
    pub fn reconstruct(&self, rows: &[f32]) -> Vec<f32> {
        self.decode(&self.encode(rows).0)
    }

    /// One batch: the training forward of `x` (`B` rows of `n` values in `[0, 1]`) with the
    /// noise `eps` (`B` rows of `L`), returning the batch means of both loss terms; with
    /// `grads`, adds the gradient of the batch mean of `recon + beta * kl` into them (module
    /// documentation). `Err(LengthMismatch)` when `x` or `eps` has the wrong length.
    pub fn step(
        &mut self,
        x: &[f32],
        eps: &[f32],
        beta: f32,
        ws: &mut VaeWorkspace,
        grads: Option<&mut VaeGrads>,
    ) -> Result<VaeLoss, Error> {
        let (n, l) = (self.inputs(), self.latent());
        let b = x.len() / n;
        if b == 0 || x.len() != b * n {
            return Err(Error::LengthMismatch { expected: b.max(1) * n, found: x.len() });
        }
        if eps.len() != b * l {
            return Err(Error::LengthMismatch { expected: b * l, found: eps.len() });
        }
        let mut ctx = Ctx { train: true, rng: None, backend: &DEFAULT };
        let h = self.encoder.forward_train(&mut ctx, x, b, &mut ws.enc)?;
        ws.h.clear();
        ws.h.extend_from_slice(h);
        ws.z.resize(b * l, 0.0);
        ws.dh.resize(b * 2 * l, 0.0);
        // z = mu + exp(logvar / 2) eps; the KL gradient into dh (overwritten)
        let mut kl = 0.0f64;
        for (((hr, zr), er), dr) in
            ws.h.chunks_exact(2 * l)
                .zip(ws.z.chunks_exact_mut(l))
                .zip(eps.chunks_exact(l))
                .zip(ws.dh.chunks_exact_mut(2 * l))
        {
            let (mu, logvar) = hr.split_at(l);
            for (((z, &m), &lv), &e) in zr.iter_mut().zip(mu).zip(logvar).zip(er) {
                *z = m + math::exp(0.5 * lv) * e;
            }
            let (dmu, dlv) = dr.split_at_mut(l);
            kl += f64::from(gaussian_kl(mu, logvar, dmu, dlv));
        }
        let logits = self.decoder.forward_train(&mut ctx, &ws.z, b, &mut ws.dec)?;
        ws.dlogits.resize(b * n, 0.0);
        let bce = BceWithLogits { pos_weight: None };
        let mut recon = 0.0f64;
        for ((lr, xr), gr) in
            logits.chunks_exact(n).zip(x.chunks_exact(n)).zip(ws.dlogits.chunks_exact_mut(n))
        {
            recon += f64::from(bce.eval(lr, Target::Values(xr), gr, None));
        }
        let loss = VaeLoss { recon: recon / b as f64, kl: kl / b as f64 };
        let Some(grads) = grads else {
            return Ok(loss);
        };
        // batch mean: every per-sample gradient times 1/B
        let scale = 1.0 / b as f32;
        for g in &mut ws.dlogits {
            *g *= scale;
        }
        let dz = self
            .decoder
            .backward(&ctx, &mut ws.dec, &ws.dlogits, &mut grads.decoder, true)
            .unwrap_or(&[]);
        let kl_scale = beta * scale;
        for (((dr, hr), dzr), er) in ws
            .dh
            .chunks_exact_mut(2 * l)
            .zip(ws.h.chunks_exact(2 * l))
            .zip(dz.chunks_exact(l))
            .zip(eps.chunks_exact(l))
        {
            let (dmu, dlv) = dr.split_at_mut(l);
            let logvar = &hr[l..];
            for ((((gm, gl), &lv), &d), &e) in
                dmu.iter_mut().zip(dlv.iter_mut()).zip(logvar).zip(dzr).zip(er)
            {
                *gm = d + kl_scale * *gm;
                *gl = d * e * 0.5 * math::exp(0.5 * lv) + kl_scale * *gl;
            }
        }
        self.encoder.backward(&ctx, &mut ws.enc, &ws.dh, &mut grads.encoder, false);
        Ok(loss)
    }
}

/// What [`train_vae`] measured. Reconstruction errors are in the data's units (pixel units,
/// 0..=16, for the digits); losses in nats per sample.
#[derive(Clone, Debug)]
pub struct VaeReport {
    /// Per epoch (epoch 1 first): the mean of the training batches' loss terms.
    pub train: Vec<VaeLoss>,
    /// Both terms on the canonical test rows, one noise draw per row (seeded).
    pub test: VaeLoss,
    /// MSE on the test rows of `sigmoid(decoder(mu))` (times the scale) against the row.
    pub test_mse: f32,
    /// MSE on the test rows of predicting the mean training image for every row.
    pub baseline_mse: f32,
    /// Rows trained on.
    pub train_rows: usize,
    /// Test rows.
    pub test_rows: usize,
    /// The trained model (input: features divided by [`PIXEL_MAX`]).
    pub vae: Vae,
}

impl VaeReport {
    /// `n` samples from the prior, decoded: `sigmoid(decoder(z))`, `z ~ N(0, I)` drawn from
    /// `Rng::new(seed)`; one `Vec` per sample, on the `[0, 1]` scale.
    pub fn sample(&self, n: usize, seed: u64) -> Vec<Vec<f32>> {
        let mut rng = Rng::new(seed);
        let z: Vec<f32> = (0..n * self.vae.latent()).map(|_| rng.normal()).collect();
        let inputs = self.vae.inputs();
        self.vae.decode(&z).chunks_exact(inputs).map(<[f32]>::to_vec).collect()
    }
}

fn scaled(d: &Dataset) -> Vec<f32> {
    d.features.iter().map(|v| v / PIXEL_MAX).collect()
}

/// Mean squared error over every value, accumulated in `f64`.
fn mse(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| f64::from(x - y).powi(2)).sum::<f64>() / a.len().max(1) as f64
}

/// The MSE (data units) of predicting the mean row of `train` for every row of `test` (both
/// rows of `n` values on the training scale).
pub fn mean_image_mse(train: &[f32], test: &[f32], n: usize, scale: f32) -> f32 {
    let rows = (train.len() / n).max(1) as f64;
    let mut mean = vec![0.0f64; n];
    for r in train.chunks_exact(n) {
        for (m, &v) in mean.iter_mut().zip(r) {
            *m += f64::from(v) / rows;
        }
    }
    let sq: f64 = test
        .chunks_exact(n)
        .flat_map(|r| r.iter().zip(&mean).map(|(&v, m)| (f64::from(v) - m).powi(2)))
        .sum();
    (sq / test.len().max(1) as f64 * f64::from(scale * scale)) as f32
}

/// Trains the VAE of `cfg` on the canonical training rows of `data` (pixels 0..=16, divided
/// by [`PIXEL_MAX`]) with Adam, shuffling every epoch; then measures both loss terms and the
/// reconstruction MSE of `decode(mu)` on the test rows, next to the mean-image baseline.
pub fn train_vae(cfg: &VaeConfig, data: &Dataset) -> Result<VaeReport, String> {
    train_vae_with(cfg, data, |_, _| {})
}

/// [`train_vae`], calling `on_epoch(epoch, loss)` (1-based) after each epoch.
pub fn train_vae_with(
    cfg: &VaeConfig,
    data: &Dataset,
    mut on_epoch: impl FnMut(usize, &VaeLoss),
) -> Result<VaeReport, String> {
    if cfg.epochs == 0 || cfg.batch == 0 {
        return Err("epochs and batch must be positive".into());
    }
    if !(cfg.beta.is_finite() && cfg.beta >= 0.0) {
        return Err("beta must be a non-negative number".into());
    }
    let n = data.n_features;
    let mut vae = Vae::build(&cfg.encoder, &cfg.decoder, n, cfg.latent)?;
    let (train, test) = data.canonical_split();
    let (xs, xt) = (scaled(&train), scaled(&test));
    let (rows, test_rows) = (train.len(), test.len());
    if rows == 0 || test_rows == 0 {
        return Err("need training and test rows".into());
    }
    if xs.iter().chain(&xt).any(|v| !(0.0..=1.0).contains(v)) {
        return Err(format!("the features must lie in 0..={PIXEL_MAX} (Bernoulli decoder)"));
    }
    let mut rng = Rng::new(cfg.seed);
    vae.init(&mut rng);
    let adam = DynOptimizer::Adam(AdamConfig::adam(cfg.lr), false);
    let mut opt_e = adam.clone().build_for(&vae.encoder).map_err(|e| e.to_string())?;
    let mut opt_d = adam.build_for(&vae.decoder).map_err(|e| e.to_string())?;
    let (l, mut ws) = (cfg.latent, VaeWorkspace::default());
    let mut order: Vec<usize> = (0..rows).collect();
    let (mut xb, mut eps) = (Vec::new(), Vec::new());
    let mut history = Vec::with_capacity(cfg.epochs);
    for epoch in 1..=cfg.epochs {
        rng.shuffle(&mut order);
        let mut sum = VaeLoss::default();
        for idx in order.chunks(cfg.batch) {
            xb.clear();
            for &i in idx {
                xb.extend_from_slice(&xs[i * n..(i + 1) * n]);
            }
            eps.clear();
            eps.extend((0..idx.len() * l).map(|_| rng.normal()));
            let mut grads = vae.zero_grads();
            let loss = vae
                .step(&xb, &eps, cfg.beta, &mut ws, Some(&mut grads))
                .map_err(|e| e.to_string())?;
            if !loss.total(cfg.beta).is_finite() {
                return Err(format!(
                    "training diverged (loss {}) at epoch {epoch}; lower the learning rate",
                    loss.total(cfg.beta)
                ));
            }
            opt_e.step(&mut vae.encoder.tensors_mut(), &grads.encoder);
            opt_d.step(&mut vae.decoder.tensors_mut(), &grads.decoder);
            let w = idx.len() as f64 / rows as f64;
            sum.recon += loss.recon * w;
            sum.kl += loss.kl * w;
        }
        history.push(sum);
        on_epoch(epoch, &sum);
    }
    let mut test_rng = Rng::new(cfg.seed ^ 0x7e57);
    let eps: Vec<f32> = (0..test_rows * l).map(|_| test_rng.normal()).collect();
    let test_loss = vae.step(&xt, &eps, cfg.beta, &mut ws, None).map_err(|e| e.to_string())?;
    let scale2 = f64::from(PIXEL_MAX * PIXEL_MAX);
    let test_mse = (mse(&vae.reconstruct(&xt), &xt) * scale2) as f32;
    Ok(VaeReport {
        train: history,
        test: test_loss,
        test_mse,
        baseline_mse: mean_image_mse(&xs, &xt, n, PIXEL_MAX),
        train_rows: rows,
        test_rows,
        vae,
    })
}
