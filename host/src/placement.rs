//! Where training runs (`neurite train --device cpu|gpu|auto`) and the engine that runs its
//! epochs: the CPU's [`DynTrainer`] (the reference) or, with the `gpu` feature, a
//! `gpu::GpuTrainer`.
//!
//! - `cpu`: the CPU.
//! - `gpu`: the GPU; without an adapter (or a build without the feature) a clear message and
//!   the CPU; a model the GPU cannot run (a layer, loss or option without a GPU kernel) is
//!   an error naming it.
//! - `auto`: the GPU when a hardware adapter exists, the GPU runs every part of the model,
//!   and a batch has at least [`AUTO_MIN_MACS`] multiply-accumulates; otherwise the CPU.
//!   Every choice comes with its reason ([`Placement::reason`]).

use crate::dynamic::{DynLoss, DynModel, DynOptimizerState, DynTrainer};
use crate::fit::TrainConfig;
use neurite::loss::{Reduction, Target};
use neurite::rng::Rng;
use neurite::Error;

/// Where to train.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Device {
    /// The CPU (the reference path).
    #[default]
    Cpu,
    /// The GPU.
    Gpu,
    /// The GPU when it gains, else the CPU.
    Auto,
}

impl std::str::FromStr for Device {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "cpu" => Ok(Self::Cpu),
            "gpu" => Ok(Self::Gpu),
            "auto" => Ok(Self::Auto),
            other => Err(format!("--device is cpu, gpu or auto, not '{other}'")),
        }
    }
}

/// The fewest multiply-accumulates per batch (forward) for which `auto` takes a hardware
/// GPU: 4 Mi. Below it a step's launches and transfers (tens of microseconds per kernel)
/// cost more than the CPU's blocked kernels take for the whole step. An estimate, not
/// measured on this project's machines (none has a hardware GPU; see benches/README.md).
pub const AUTO_MIN_MACS: usize = 1 << 22;

/// Where training ran, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    /// `true` on the GPU.
    pub gpu: bool,
    /// The device and the reason, in words.
    pub reason: String,
}

/// The open GPU (or none) that a training borrows for its [`Engine`].
#[derive(Debug, Default)]
pub(crate) struct GpuSlot {
    #[cfg(feature = "gpu")]
    gpu: Option<crate::gpu::Gpu>,
    /// Why there is none.
    missing: String,
}

impl GpuSlot {
    /// Opens the GPU unless `device` is the CPU.
    pub(crate) fn open(device: Device) -> Self {
        if device == Device::Cpu {
            return Self::default();
        }
        #[cfg(feature = "gpu")]
        match crate::gpu::Gpu::new() {
            Ok(g) => Self { gpu: Some(g), missing: String::new() },
            Err(e) => Self { gpu: None, missing: e.0 },
        }
        #[cfg(not(feature = "gpu"))]
        Self {
            missing: "this neurite was built without the `gpu` feature (cargo run --release --features gpu -- train ...)".into(),
        }
    }
}

/// Runs epochs on the CPU or the GPU.
#[derive(Debug)]
pub(crate) enum Engine<'g> {
    Cpu(Box<DynTrainer>),
    #[cfg(feature = "gpu")]
    Gpu(Box<crate::gpu::GpuTrainer<'g>>),
    #[cfg(not(feature = "gpu"))]
    #[allow(dead_code)]
    Never(std::marker::PhantomData<&'g ()>),
}

/// What the GPU cannot run in `cfg` besides layers and losses (options applied between
/// the backward pass and the step), or `None`.
fn unsupported_option(cfg: &TrainConfig) -> Option<&'static str> {
    if cfg.l1 > 0.0 {
        Some("--l1 runs on the CPU only")
    } else if cfg.clip.is_some() {
        Some("--clip runs on the CPU only")
    } else {
        None
    }
}

/// The engine for `cfg.device`, and where and why.
pub(crate) fn engine<'g>(
    slot: &'g GpuSlot,
    cfg: &TrainConfig,
    model: &DynModel,
    optimizer: &DynOptimizerState,
) -> Result<(Engine<'g>, Placement), String> {
    let cpu = |reason: String| {
        let mut t = DynTrainer::new(model);
        t.dropout_rng = Some(Rng::new(cfg.seed ^ 0x5eed_d00d));
        Ok((Engine::Cpu(Box::new(t)), Placement { gpu: false, reason }))
    };
    match cfg.device {
        Device::Cpu => return cpu("cpu (--device cpu)".into()),
        _ if !slot.missing.is_empty() => {
            return cpu(format!("cpu: no GPU: {}", slot.missing));
        }
        _ => {}
    }
    #[cfg(feature = "gpu")]
    if let Some(gpu) = &slot.gpu {
        let batch_macs = model.macs().saturating_mul(cfg.batch);
        let refusal = match unsupported_option(cfg) {
            Some(why) => Err(why.to_string()),
            None => crate::gpu::GpuTrainer::new(gpu, model, &cfg.loss, optimizer, cfg.batch),
        };
        return match (cfg.device, refusal) {
            (Device::Gpu, Err(why)) => Err(format!("--device gpu: {why} (use --device cpu or auto)")),
            (_, Err(why)) => cpu(format!("cpu (auto): {why}")),
            (Device::Auto, Ok(_)) if gpu.is_software() => cpu(format!(
                "cpu (auto): the GPU adapter found, {}, is a software one (--device gpu uses it anyway)",
                gpu.describe()
            )),
            (Device::Auto, Ok(_)) if batch_macs < AUTO_MIN_MACS => cpu(format!(
                "cpu (auto): {batch_macs} multiply-accumulates per batch, below the {AUTO_MIN_MACS} where the GPU gains"
            )),
            (_, Ok(t)) => Ok((
                Engine::Gpu(Box::new(t)),
                Placement { gpu: true, reason: format!("gpu: {}", gpu.describe()) },
            )),
        };
    }
    let _ = (optimizer, unsupported_option(cfg));
    cpu("cpu".into())
}

impl Engine<'_> {
    /// One epoch (the CPU's order of batches and shuffles on either device); `model` and
    /// `optimizer` hold its result afterwards (on the GPU: copied back, also after a failed
    /// batch, with the last good step's weights).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn epoch(
        &mut self,
        model: &mut DynModel,
        optimizer: &mut DynOptimizerState,
        loss: &DynLoss,
        xs: &[&[f32]],
        targets: &[Target<'_>],
        cfg: &TrainConfig,
        rng: &mut Rng,
    ) -> Result<f32, Error> {
        match self {
            Self::Cpu(trainer) => {
                let (l1, clip) = (cfg.l1, cfg.clip);
                loss.with(|l| {
                    trainer.epoch(
                        model,
                        optimizer,
                        l,
                        Reduction::Mean,
                        xs,
                        targets,
                        cfg.batch,
                        Some(rng),
                        |grads, params| {
                            if l1 > 0.0 {
                                for (g, p) in grads.iter_mut().zip(params) {
                                    neurite::optim::add_l1(g, p, l1);
                                }
                            }
                            if let Some(max) = clip {
                                crate::dynamic::clip_grad_norm(grads, max);
                            }
                        },
                    )
                })
            }
            #[cfg(feature = "gpu")]
            Self::Gpu(trainer) => {
                trainer.set_lr(optimizer.lr());
                let result = trainer.epoch(xs, targets, cfg.batch, Some(rng));
                trainer.download(model, Some(optimizer));
                result
            }
            #[cfg(not(feature = "gpu"))]
            Self::Never(_) => Err(Error::Empty),
        }
    }

    /// The batch being trained (after an error, the one that failed) and the epoch's count.
    pub(crate) fn epoch_batch(&self) -> (usize, usize) {
        match self {
            Self::Cpu(t) => t.epoch_batch,
            #[cfg(feature = "gpu")]
            Self::Gpu(t) => t.epoch_batch,
            #[cfg(not(feature = "gpu"))]
            Self::Never(_) => (0, 0),
        }
    }
}
