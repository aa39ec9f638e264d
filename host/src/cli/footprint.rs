//! `neurite footprint`.

use super::report::footprint_table;
use super::{CliError, CliResult};
use crate::dynamic::DynModel;
use crate::footprint::{device_estimates, optimizer_state, probe_optimizer, DeviceEstimate};

/// Options of `neurite footprint`.
#[derive(clap::Args, Debug)]
pub struct FootprintArgs {
    #[command(flatten)]
    pub source: super::options::ModelSource,
    /// Optimiser for the training columns: sgd, momentum, adagrad, rmsprop, adam, amsgrad.
    #[arg(long, default_value = "adam", value_name = "NAME")]
    pub optimizer: String,
    /// Flash of the microcontroller, for the "fits" column: bytes, or with K or M (64K).
    #[arg(long, default_value = "64K", value_name = "SIZE", value_parser = parse_size)]
    pub flash: usize,
    /// RAM of the microcontroller, for the "fits" column: bytes, or with K or M (16K).
    #[arg(long, default_value = "16K", value_name = "SIZE", value_parser = parse_size)]
    pub ram: usize,
}

/// `65536`, `64K`, `64KB`, `1M`: bytes (K = 1024).
fn parse_size(text: &str) -> Result<usize, String> {
    let t = text.trim().to_ascii_uppercase();
    let t = t.strip_suffix('B').unwrap_or(&t);
    let (digits, unit) = match t.strip_suffix('K') {
        Some(d) => (d, 1024),
        None => t.strip_suffix('M').map_or((t, 1), |d| (d, 1024 * 1024)),
    };
    digits
        .trim()
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("'{text}' is not a size: bytes, or a number with K or M (64K)"))
}

/// `(state slots, hyper-parameter bytes)` of an optimiser in the typed core.
pub fn optimizer_shape(name: &str) -> Result<(usize, usize), CliError> {
    probe_optimizer(name)
        .map(optimizer_state)
        .ok_or_else(|| CliError::bad(format!("unknown optimizer '{name}'")))
}

/// The RAM table for a model and optimiser.
pub fn table(model: &DynModel, optimizer: &str) -> Result<String, CliError> {
    let (slots, cfg) = optimizer_shape(optimizer)?;
    Ok(footprint_table(&[
        ("inference", crate::footprint::inference(model)),
        (&format!("train ({optimizer})"), crate::footprint::training(model, slots, cfg)),
        (
            &format!("fine-tune last ({optimizer})"),
            crate::footprint::fine_tune_last(model, slots, cfg),
        ),
    ]))
}

/// The on-device table: flash and RAM estimated from the footprint probe for each target and
/// opt-level, and whether they fit `flash` and `ram` bytes.
pub fn device_table(model: &DynModel, optimizer: &str, flash: usize, ram: usize) -> String {
    let Some(estimates) = device_estimates(model, optimizer) else {
        return String::new();
    };
    let kib = |b: usize| {
        if b.is_multiple_of(1024) {
            format!("{} KB", b / 1024)
        } else {
            format!("{b} B")
        }
    };
    let mut out = format!(
        "on a microcontroller (code and stack measured in QEMU for the 4-16-3 reference model, \
         probe/footprint.csv; this model's weights and buffers swapped in):\n\
         {:<7}{:<5}{:<22}{:>10}{:>10}  fits {} flash, {} RAM\n",
        "core",
        "opt",
        "workload",
        "flash",
        "RAM",
        kib(flash),
        kib(ram)
    );
    for DeviceEstimate { probe, flash: f, ram: r } in &estimates {
        let core = if probe.target == "m0" { "M0" } else { "M4F" };
        let fits = match (*f <= flash, *r <= ram) {
            (true, true) => "yes".to_string(),
            (false, true) => "no: flash".to_string(),
            (true, false) => "no: RAM".to_string(),
            (false, false) => "no: flash and RAM".to_string(),
        };
        out += &format!(
            "{core:<7}{:<5}{:<22}{f:>10}{r:>10}  {fits}\n",
            probe.opt,
            probe.workload.replace('_', " ")
        );
    }
    out
}

/// Runs `neurite footprint`.
pub fn run(a: &FootprintArgs) -> CliResult {
    let model = a.source.load("footprint")?;
    outln!(
        "{} parameters, {} inputs, {} outputs",
        model.param_count(),
        model.inputs(),
        model.outputs()
    );
    out!("{}", table(&model, &a.optimizer)?);
    outln!();
    out!("{}", device_table(&model, &a.optimizer, a.flash, a.ram));
    Ok(())
}
