//! `neurite bench --device gpu`: one training step (forward, cross-entropy, backward, Adam)
//! of the MLP 512-512-512-10 at batches 64, 256 and 1024 on the GPU, beside the CPU's
//! blocked path on the same step in the same run (`speedup` = CPU time / GPU time).
//!
//! GPU steps are timed pipelined ([`crate::bench::time_pipelined_us`]): submitted back to
//! back, each round ended by one wait, as training runs them.

use super::{Gpu, GpuTrainer};
use crate::bench::{batch_data, build, optimizer, time_pipelined_us, time_us, widths};
use crate::bench::{Measurement, TrainStep};
use crate::bench::{ModelCase, MODELS};
use crate::dynamic::DynLoss;
use neurite::loss::Target;
use std::hint::black_box;

/// The suite's batches for the GPU comparison.
pub const BATCHES: [usize; 3] = [64, 256, 1024];

/// The model: the suite's MLP 512-512-512-10.
fn case() -> &'static ModelCase {
    &MODELS[3]
}

/// Runs the GPU cases whose names contain `filter`, calling `report` with the CPU's
/// measurement and then the GPU's of each batch.
///
/// # Errors
///
/// When the GPU cannot train the model (it always can: dense, relu, cross-entropy, Adam).
pub fn run_suite(
    gpu: &Gpu,
    rounds: usize,
    filter: &str,
    mut report: impl FnMut(&Measurement),
) -> Result<(), String> {
    let case = case();
    let model = build(case);
    let flops = 3.0 * 2.0 * model.macs() as f64;
    let shape = widths(&model);
    for batch in BATCHES {
        let name = format!("{}-b{batch}-train-adam", case.name);
        if !name.contains(filter) && !format!("{name}-gpu").contains(filter) {
            continue;
        }
        let mut cpu = TrainStep::new(&model, batch, "adam");
        let cpu_us = time_us(rounds, || {
            black_box(cpu.step());
        });
        let measured =
            |name: String, us: f64, device: Option<String>, speedup: Option<f64>| Measurement {
                name,
                shape: shape.clone(),
                batch,
                kind: "train",
                optimizer: Some("adam"),
                us_per_batch: us,
                gflops: flops * batch as f64 / us / 1e3,
                peak_gflops: None,
                device,
                speedup,
            };
        report(&measured(name.clone(), cpu_us, None, None));
        let lens: Vec<usize> = model.tensors().iter().map(|t| t.len()).collect();
        let opt = optimizer("adam").build(&lens).map_err(|e| e.to_string())?;
        let loss = DynLoss::CrossEntropy(None, 0.0);
        let mut trainer = GpuTrainer::new(gpu, &model, &loss, &opt, batch)?;
        let (x, labels) = batch_data(&model, batch);
        let rows: Vec<&[f32]> = x.chunks(model.inputs()).collect();
        let targets: Vec<Target<'_>> = labels.iter().map(|&c| Target::Class(c)).collect();
        let mut failed = None;
        let gpu_us = time_pipelined_us(
            rounds,
            || {
                if let Err(e) = trainer.step(&rows, &targets) {
                    failed = Some(e);
                }
            },
            || gpu.wait(),
        );
        if let Some(e) = failed {
            return Err(e.to_string());
        }
        let device = format!("gpu: {}", gpu.describe());
        report(&measured(format!("{name}-gpu"), gpu_us, Some(device), Some(cpu_us / gpu_us)));
    }
    Ok(())
}
