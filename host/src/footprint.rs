//! Memory footprint of a runtime-shaped model, in bytes, computed as the core's
//! `neurite::footprint` computes it from `size_of` for the same const-generic model
//! (checked in `tests/tests/footprint.rs`).

use crate::dynamic::op::numel;
use crate::dynamic::{DynModel, Op};
use core::mem::{align_of, size_of};
use neurite::footprint::Footprint;
use neurite::loss::Batch;
use neurite::rng::Rng;

/// Footprint of inference: parameters, input and output.
pub fn inference(model: &DynModel) -> Footprint {
    Footprint {
        params: 4 * model.param_count(),
        frozen: 0,
        grads: 0,
        optimizer: 0,
        trace: 0,
        buffers: 4 * (model.inputs() + model.outputs()),
    }
}

fn inference_layers(model: &DynModel) -> Vec<&dyn Op> {
    model.inference_layers().collect()
}

fn params_of(layers: &[&dyn Op]) -> usize {
    layers.iter().map(|l| l.params().iter().map(|t| t.values.len()).sum::<usize>()).sum()
}

fn outputs(l: &&dyn Op) -> usize {
    numel(l.output_shape())
}

fn inputs(l: &&dyn Op) -> usize {
    numel(l.input_shape())
}

/// Footprint of training `layers` with an optimiser holding `slots` state tensors of the
/// parameters' size and `config_bytes` of hyper-parameters (`size_of` its config struct): the trace keeps every
/// intermediate output, the trainer one output, its gradient, an input and the batch sums.
fn training_of(layers: &[&dyn Op], slots: usize, config_bytes: usize) -> Footprint {
    let p = 4 * params_of(layers);
    let trace: usize =
        layers.iter().take(layers.len().saturating_sub(1)).map(|l| 4 * outputs(l)).sum::<usize>()
            + layers.iter().map(|l| 4 * l.trace_values()).sum::<usize>();
    let (inputs, outputs) = (layers.first().map_or(0, inputs), layers.last().map_or(0, outputs));
    // Trainer<L> is `repr(C)`: { grads, trace, out, dout (all f32), batch: Batch, last: f32,
    // train_mode: bool, dropout_rng: Option<Rng> }, each field at the next multiple of its
    // alignment, the size a multiple of the widest.
    let at = |offset: usize, align: usize| offset.next_multiple_of(align);
    let mut offset = p + trace + 8 * outputs;
    offset = at(offset, align_of::<Batch>()) + size_of::<Batch>() + 4 + 1;
    offset = at(offset, align_of::<Option<Rng>>()) + size_of::<Option<Rng>>();
    let align = align_of::<Batch>().max(align_of::<Option<Rng>>()).max(align_of::<f32>());
    let trainer = at(offset, align);
    Footprint {
        params: p,
        frozen: 0,
        grads: p,
        // typed optimisers: hyper-parameters, `slots` values of the gradient type, step count
        optimizer: config_bytes + slots * p + 4,
        trace,
        buffers: trainer - p - trace + 4 * inputs,
    }
}

/// Footprint of training the whole model.
pub fn training(model: &DynModel, slots: usize, config_bytes: usize) -> Footprint {
    training_of(&inference_layers(model), slots, config_bytes)
}

/// Footprint of fine-tuning the last dense layer (and what follows it) on the device while
/// the layers before it stay frozen in flash.
pub fn fine_tune_last(model: &DynModel, slots: usize, config_bytes: usize) -> Footprint {
    let layers = inference_layers(model);
    let split = layers.iter().rposition(|l| l.kind().name == "dense").unwrap_or(0);
    let (frozen, head) = layers.split_at(split);
    let head_fp = training_of(head, slots, config_bytes);
    Footprint {
        frozen: 4 * params_of(frozen),
        buffers: head_fp.buffers + 4 * model.inputs(),
        ..head_fp
    }
}

/// The footprint probe's measurements (`probe/footprint.csv`): for the reference model,
/// each on-device workload's flash (`text`), measured peak stack and compile-time RAM, on
/// Cortex-M0 and Cortex-M4F at opt-level `s` and `3`.
pub const PROBE_CSV: &str = include_str!("../../probe/footprint.csv");

/// The probe's reference model (the template's iris model, `template/src/model.rs`): 4
/// inputs, `dense(16),relu,dense(3)`, 131 parameters.
pub const PROBE_MODEL: (&str, usize) = ("dense(16),relu,dense(3)", 4);

/// One row of [`PROBE_CSV`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeRow {
    /// `m0` (thumbv6m-none-eabi) or `m4f` (thumbv7em-none-eabihf).
    pub target: String,
    /// Opt-level: `s` or `3`.
    pub opt: String,
    /// `inference`, `train_<optimizer>` or `finetune_<optimizer>`.
    pub workload: String,
    /// Flash: code, constants (the reference model's weights included) and vector table.
    pub text: usize,
    /// Measured peak stack: all the workload's RAM (it keeps every buffer in its locals).
    pub stack: usize,
    /// `neurite::footprint`'s compile-time RAM for the same workload.
    pub footprint_ram: usize,
}

/// The rows of [`PROBE_CSV`].
pub fn probe_rows() -> Vec<ProbeRow> {
    PROBE_CSV
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            let n = |i: usize| f.get(i).and_then(|v| v.parse().ok());
            Some(ProbeRow {
                target: (*f.first()?).to_string(),
                opt: (*f.get(1)?).to_string(),
                workload: (*f.get(2)?).to_string(),
                text: n(3)?,
                stack: n(6)?,
                footprint_ram: n(7)?,
            })
        })
        .collect()
}

/// The probe's optimiser for a CLI optimiser name (its state and code): `gd` is `sgd`,
/// `nesterov` is `momentum`, `adamw` is `adam`.
pub fn probe_optimizer(name: &str) -> Option<&'static str> {
    Some(match name {
        "sgd" | "gd" => "sgd",
        "momentum" | "nesterov" => "momentum",
        "adagrad" => "adagrad",
        "rmsprop" => "rmsprop",
        "adam" | "adamw" => "adam",
        "amsgrad" => "amsgrad",
        _ => return None,
    })
}

/// A model's estimated cost on a microcontroller for one probe row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceEstimate {
    /// The probe row it scales.
    pub probe: ProbeRow,
    /// Flash bytes: the probe's `text` with the reference model's weights replaced by the
    /// model's parameters and buffers (`text + 4 * (params + buffers - 131)`).
    pub flash: usize,
    /// RAM bytes: the probe's measured stack plus the difference between the model's and the
    /// reference model's compile-time RAM, plus the model's extra intermediate outputs
    /// (which the forward passes keep on the stack) when it has more than the reference.
    pub ram: usize,
}

/// Values of every intermediate output (all layers but the last), which a forward pass
/// declares on the stack.
fn intermediate_values(model: &DynModel) -> usize {
    let layers = inference_layers(model);
    layers.iter().take(layers.len().saturating_sub(1)).map(outputs).sum()
}

/// Estimates for `model` of each workload the CLI reports (inference, training and
/// fine-tuning the last dense layer with `optimizer`), on every probe target and opt-level,
/// scaled from the probe's measurements of its reference model as [`DeviceEstimate`] says.
/// `None` for an optimiser the probe does not measure.
pub fn device_estimates(model: &DynModel, optimizer: &str) -> Option<Vec<DeviceEstimate>> {
    let opt = probe_optimizer(optimizer)?;
    let (spec, inputs) = PROBE_MODEL;
    let reference = DynModel::build(&crate::dynamic::parse_spec(spec).ok()?, &[inputs]).ok()?;
    let (slots, config) = optimizer_state(opt);
    let ram = |m: &DynModel, workload: &str| match workload {
        "inference" => inference(m).buffers,
        w if w.starts_with("train_") => training(m, slots, config).ram(),
        _ => fine_tune_last(m, slots, config).ram(),
    };
    let extra_activations =
        4 * intermediate_values(model).saturating_sub(intermediate_values(&reference));
    let workloads = ["inference".to_string(), format!("train_{opt}"), format!("finetune_{opt}")];
    let rows = probe_rows().into_iter().filter(|r| workloads.contains(&r.workload));
    Some(
        rows.map(|probe| {
            // the model's constants: parameters and buffers (running statistics, a graph)
            let constants = model.param_count() + model.buffer_count();
            let flash = (probe.text + 4 * constants).saturating_sub(4 * reference.param_count());
            let ram = (probe.stack + ram(model, &probe.workload) + extra_activations)
                .saturating_sub(ram(&reference, &probe.workload));
            DeviceEstimate { probe, flash, ram }
        })
        .collect(),
    )
}

/// `(state slots, hyper-parameter bytes)` of a probe optimiser in the typed core.
pub fn optimizer_state(probe_optimizer: &str) -> (usize, usize) {
    use core::mem::size_of;
    use neurite::optim::{AdagradConfig, AdamConfig, RmsPropConfig, SgdConfig};
    match probe_optimizer {
        "momentum" => (1, size_of::<SgdConfig>()),
        "adagrad" => (1, size_of::<AdagradConfig>()),
        "rmsprop" => (1, size_of::<RmsPropConfig>()),
        "adam" => (2, size_of::<AdamConfig>()),
        "amsgrad" => (3, size_of::<AdamConfig>()),
        _ => (0, size_of::<SgdConfig>()),
    }
}

/// One line for the examples: `model`'s estimated flash and RAM on a Cortex-M4F at
/// opt-level 3 ([`device_estimates`], scaled from the footprint probe's measurements) for
/// inference and for training every layer with Adam, e.g. `M4F estimate (probe-scaled,
/// opt-level 3): inference 25,120 B flash, 3,420 B RAM; training with Adam 139,264 B RAM`.
pub fn m4f_estimate_line(model: &DynModel) -> String {
    let estimates = device_estimates(model, "adam").unwrap_or_default();
    let pick = |workload: &str| {
        estimates
            .iter()
            .find(|e| e.probe.target == "m4f" && e.probe.opt == "3" && e.probe.workload == workload)
    };
    let n = |v: usize| {
        let digits = v.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    };
    match (pick("inference"), pick("train_adam")) {
        (Some(i), Some(t)) => format!(
            "M4F estimate (probe-scaled, opt-level 3): inference {} B flash, {} B RAM; training with Adam {} B RAM",
            n(i.flash),
            n(i.ram),
            n(t.ram)
        ),
        _ => "M4F estimate: the footprint probe has no M4F opt-level 3 rows".to_string(),
    }
}
