//! Footprint probe: the workloads measured by `measure.sh`, and the harness that runs one of
//! them in QEMU, measures its peak stack and reports it through semihosting.
//!
//! Reference model: the template's exported iris model (`template/src/model.rs`,
//! `Dense<4, 16>, Relu, Dense<16, 3>`, 131 parameters), on the template's 12 labelled samples
//! (`template/src/samples.rs`), with cross-entropy. Both files are included, not copied.
//!
//! Every workload runs inside [`stack_used_by`], so its locals (the model copied into RAM,
//! the trainer, the optimiser state) count as stack: the figure is the RAM the workload needs
//! on top of the statics. Inputs are read through [`black_box`], and each workload returns a
//! checksum of its result, so that the compiler can neither precompute nor drop the work.
#![no_std]

#[rustfmt::skip]
#[path = "../../template/src/model.rs"]
mod model;
#[path = "../../template/src/samples.rs"]
mod samples;

use core::hint::black_box;
use cortex_m_semihosting::{debug, hio};
use neurite::footprint;
use neurite::kernel::reduce::argmax;
use neurite::layer::{FineTune, FineTuneAfter, Infer, Layer, Split};
use neurite::loss::{CrossEntropy, Reduction, Target};
use neurite::optim::Optimizer;
use neurite::params::Params;
use neurite::train::Trainer;

pub use cortex_m_rt as rt;

/// The reference model (the template's iris model).
pub type Model = model::Model;
/// Fine-tuning: how many of the model's first layers stay frozen in flash (as in the
/// template).
pub const FROZEN_LAYERS: usize = 2;
/// Fine-tuning: the layers trained (the model's last `Dense`).
pub type Head = <Model as Split<FROZEN_LAYERS>>::Tail;
/// Gradients of the whole model (full training).
pub type ModelGrads = <Model as Layer>::Grads;
/// Gradients of the head (fine-tuning).
pub type HeadGrads = <Head as Layer>::Grads;

/// A second model type with other shapes (4-12-3), for the code each additional model type
/// costs: monomorphisation must not copy the kernels per shape. Its weights are the
/// reference model's first 12 hidden units.
pub type Model2 = neurite::Seq![
    neurite::layer::Dense<4, 12>,
    neurite::layer::Act<neurite::activation::Relu, 12>,
    neurite::layer::Dense<12, 3>
];

/// A larger model, to check `neurite footprint`'s scaling against a measurement: the
/// firmware's digits model (`firmware/src/model.rs`, 64-64-10, 4,810 parameters).
#[rustfmt::skip]
#[allow(dead_code)] // its standardisation statistics are not used here
#[path = "../../firmware/src/model.rs"]
mod digits_model;

/// The digits model in flash.
static DIGITS: digits_model::Model = digits_model::MODEL;

/// Inference of the digits model from flash on 12 inputs made from the samples (each
/// sample's 4 standardised features repeated 16 times).
pub fn inference_digits() -> Outcome {
    let model: &digits_model::Model = black_box(&DIGITS);
    let mut h = CHECK_START;
    for (raw, _) in black_box(&SAMPLES) {
        let s = standardise(raw);
        let x: [f32; 64] = core::array::from_fn(|k| s[k % 4]);
        let mut scores = [0.0f32; 10];
        model.forward_checked(&x, &mut scores).map_err(|_| "non-finite")?;
        h = scores.iter().fold(h, |h, &v| mix(h, v));
    }
    Ok(Report { check: h, footprint_ram: footprint::inference::<digits_model::Model>().buffers })
}

/// The second model in flash.
static MODEL2: Model2 = {
    let (first, (relu, last)) = &model::MODEL;
    let mut w1 = [[0.0f32; 4]; 12];
    let mut b1 = [0.0f32; 12];
    let mut w2 = [[0.0f32; 12]; 3];
    let mut i = 0;
    while i < 12 {
        w1[i] = first.weight[i];
        b1[i] = first.bias[i];
        let mut o = 0;
        while o < 3 {
            w2[o][i] = last.weight[o][i];
            o += 1;
        }
        i += 1;
    }
    let _ = relu;
    (
        neurite::layer::Dense::new(w1, b1),
        (
            neurite::layer::Act::new(neurite::activation::Relu),
            neurite::layer::Dense::new(w2, last.bias),
        ),
    )
};

/// Optimiser steps of the training workloads (one batch over all samples each).
pub const STEPS: u32 = 5;

/// The weights, in flash.
static MODEL: Model = model::MODEL;
/// `(raw features, class)`, in flash.
static SAMPLES: [([f32; 4], usize); samples::SAMPLES.len()] = samples::SAMPLES;

/// What a workload reports: a checksum of its result and the RAM `neurite::footprint`
/// computes for it at compile time, or why it failed.
pub type Outcome = Result<Report, &'static str>;

/// A workload's result.
#[derive(Clone, Copy, Debug)]
pub struct Report {
    /// Checksum of the outputs or trained parameters (and the last loss).
    pub check: u32,
    /// `neurite::footprint`'s RAM figure for the workload (`Footprint::ram`).
    pub footprint_ram: usize,
}

/// The optimisers, each with a config its constructor accepts (checked at run time: an
/// invalid one fails the probe).
pub mod opt {
    use neurite::optim::{
        Adagrad, AdagradConfig, Adam, AdamConfig, AmsGrad, RmsProp, RmsPropConfig, Sgd, SgdConfig,
        SgdMomentum,
    };
    use neurite::params::{Params, Zeroed};
    use neurite::Error;

    /// Plain SGD.
    pub fn sgd<G: Params + Zeroed>() -> Result<Sgd<G>, Error> {
        Sgd::new(SgdConfig::new(0.05))
    }
    /// SGD with momentum 0.9 (one more gradient-sized buffer).
    pub fn momentum<G: Params + Zeroed>() -> Result<SgdMomentum<G>, Error> {
        SgdMomentum::new(SgdConfig { momentum: 0.9, ..SgdConfig::new(0.02) })
    }
    /// AdaGrad.
    pub fn adagrad<G: Params + Zeroed>() -> Result<Adagrad<G>, Error> {
        Adagrad::new(AdagradConfig::new(0.02))
    }
    /// RMSprop (plain: no momentum, not centred).
    pub fn rmsprop<G: Params + Zeroed>() -> Result<RmsProp<G>, Error> {
        RmsProp::new(RmsPropConfig::new(0.002))
    }
    /// Adam.
    pub fn adam<G: Params + Zeroed>() -> Result<Adam<G>, Error> {
        Adam::new(AdamConfig::adam(0.01))
    }
    /// Adam with AMSGrad (one more gradient-sized buffer).
    pub fn amsgrad<G: Params + Zeroed>() -> Result<AmsGrad<G>, Error> {
        AmsGrad::new(AdamConfig { amsgrad: true, ..AdamConfig::adam(0.01) })
    }
}

/// `(x - mean) / std` with the training data's statistics.
fn standardise(raw: &[f32; 4]) -> [f32; 4] {
    core::array::from_fn(|i| (raw[i] - model::INPUT_MEAN[i]) / model::INPUT_STD[i])
}

/// FNV-1a-like mixing of a value's bits into a checksum.
fn mix(h: u32, v: f32) -> u32 {
    (h ^ v.to_bits()).wrapping_mul(0x0100_0193)
}

const CHECK_START: u32 = 0x811C_9DC5;

/// Checksum of every parameter of `p`.
fn params_checksum<P: Params>(p: &P) -> u32 {
    (0..P::TENSORS).flat_map(|t| p.tensor(t)).fold(CHECK_START, |h, &v| mix(h, v))
}

/// Inference: the model's forward from flash (checked: a non-finite input or output is an
/// error) on every sample. Fails unless at least 3/4 of the samples are classified right.
pub fn inference() -> Outcome {
    let model: &Model = black_box(&MODEL);
    let mut h = CHECK_START;
    let mut correct = 0;
    for (raw, label) in black_box(&SAMPLES) {
        let mut scores = [0.0f32; 3];
        model.forward_checked(&standardise(raw), &mut scores).map_err(|_| "non-finite")?;
        correct += usize::from(argmax(&scores) == *label);
        h = scores.iter().fold(h, |h, &v| mix(h, v));
    }
    if correct * 4 < SAMPLES.len() * 3 {
        return Err("inference: too few samples right");
    }
    // the weights are read from flash: the RAM is the input and output buffers
    Ok(Report { check: h, footprint_ram: footprint::inference::<Model>().buffers })
}

/// [`inference`], then the same through [`Model2`] (its scores mixed into the checksum): the
/// difference from `inference`'s code is what a second model type costs.
pub fn inference_two_models() -> Outcome {
    let first = inference()?;
    let model: &Model2 = black_box(&MODEL2);
    let mut h = first.check;
    for (raw, _) in black_box(&SAMPLES) {
        let mut scores = [0.0f32; 3];
        model.forward_checked(&standardise(raw), &mut scores).map_err(|_| "non-finite")?;
        h = scores.iter().fold(h, |h, &v| mix(h, v));
    }
    let footprint_ram = first.footprint_ram.max(footprint::inference::<Model2>().buffers);
    Ok(Report { check: h, footprint_ram })
}

/// [`train`] with plain SGD, then the same for [`Model2`]: the difference from `train_sgd`'s
/// code is what a second trained model type costs.
pub fn train_sgd_two_models() -> Outcome {
    let first = train(opt::sgd)?;
    let mut model: Model2 = black_box(&MODEL2).clone();
    let mut opt = opt::sgd::<<Model2 as Layer>::Grads>().map_err(|_| "invalid optimiser config")?;
    let mut trainer = Trainer::<Model2>::new();
    let ce = CrossEntropy::default();
    let mut last = 0.0;
    for _ in 0..STEPS {
        trainer.begin();
        for (raw, label) in black_box(&SAMPLES) {
            trainer
                .accumulate(&model, &ce, &standardise(raw), Target::Class(*label))
                .map_err(|_| "training: bad sample")?;
        }
        last = trainer.finish(&ce, Reduction::Mean).map_err(|_| "training: bad loss")?.0;
        opt.step(&mut model, &trainer.grads);
    }
    let footprint_ram = first
        .footprint_ram
        .max(footprint::training::<Model2, neurite::optim::Sgd<<Model2 as Layer>::Grads>>().ram());
    Ok(Report { check: mix(mix(first.check, last), params_checksum(&model) as f32), footprint_ram })
}

/// Full training: the whole model copied from flash into RAM, trained for [`STEPS`] steps of
/// one batch over every sample (cross-entropy, mean) with the optimiser `make` builds. Fails
/// unless the batch loss went down.
pub fn train<O: Optimizer<ModelGrads>>(
    make: impl FnOnce() -> Result<O, neurite::Error>,
) -> Outcome {
    let mut opt = make().map_err(|_| "invalid optimiser config")?;
    let mut model: Model = black_box(&MODEL).clone();
    let mut trainer = Trainer::<Model>::new();
    let ce = CrossEntropy::default();
    let mut losses = [0.0f32; 2];
    for step in 0..STEPS {
        trainer.begin();
        for (raw, label) in black_box(&SAMPLES) {
            trainer
                .accumulate(&model, &ce, &standardise(raw), Target::Class(*label))
                .map_err(|_| "training: bad sample")?;
        }
        let (loss, _) = trainer.finish(&ce, Reduction::Mean).map_err(|_| "training: bad loss")?;
        opt.step(&mut model, &trainer.grads);
        losses[usize::from(step > 0)] = loss;
    }
    if losses[1] >= losses[0] || opt.steps() != STEPS {
        return Err("training: the loss did not go down");
    }
    let footprint_ram = footprint::training::<Model, O>().ram();
    Ok(Report { check: mix(params_checksum(&model), losses[1]), footprint_ram })
}

/// Fine-tuning: the first two layers frozen in flash, the last `Dense` copied into RAM and
/// trained for [`STEPS`] steps as in [`train`] (`FineTune::after`, as the template does).
/// Fails unless the batch loss went down.
pub fn finetune<O: Optimizer<HeadGrads>>(
    make: impl FnOnce() -> Result<O, neurite::Error>,
) -> Outcome {
    let mut opt = make().map_err(|_| "invalid optimiser config")?;
    let mut tuner: FineTuneAfter<'_, Model, FROZEN_LAYERS> = FineTune::after(black_box(&MODEL));
    let mut trainer = Trainer::<Head>::new();
    let ce = CrossEntropy::default();
    let mut losses = [0.0f32; 2];
    for step in 0..STEPS {
        trainer.begin();
        for (raw, label) in black_box(&SAMPLES) {
            tuner
                .accumulate(&mut trainer, &ce, &standardise(raw), Target::Class(*label))
                .map_err(|_| "fine-tuning: bad sample")?;
        }
        let (loss, _) =
            trainer.finish(&ce, Reduction::Mean).map_err(|_| "fine-tuning: bad loss")?;
        tuner.step(&mut opt, &trainer);
        losses[usize::from(step > 0)] = loss;
    }
    if losses[1] >= losses[0] || opt.steps() != STEPS {
        return Err("fine-tuning: the loss did not go down");
    }
    let footprint_ram = footprint::fine_tuning_after::<Model, FROZEN_LAYERS, O>().ram();
    Ok(Report { check: mix(params_checksum(&tuner.head), losses[1]), footprint_ram })
}

/// Runs `workload` under [`stack_used_by`], prints
/// `probe <name> stack <bytes> ram <footprint bytes> check <checksum>` and exits with
/// success, or prints
/// `probe <name> FAILED <why>` and exits with failure.
pub fn run(name: &str, workload: impl FnOnce() -> Outcome) -> ! {
    let mut outcome = Err("not run");
    let stack = stack_used_by(|| outcome = workload());
    let mut line = Line::new();
    line.push(b"probe ").push(name.as_bytes());
    match outcome {
        Ok(report) => {
            line.push(b" stack ").dec(stack as u32);
            line.push(b" ram ").dec(report.footprint_ram as u32);
            line.push(b" check 0x").hex(report.check).push(b"\n");
            line.print();
            exit(true)
        }
        Err(why) => {
            line.push(b" FAILED ").push(why.as_bytes()).push(b"\n");
            line.print();
            exit(false)
        }
    }
}

/// Defines the `main` of a probe binary that runs `$workload` (an expression giving an
/// [`Outcome`]) under the binary's name, and a HardFault handler that fails the run.
#[macro_export]
macro_rules! probe_main {
    ($workload:expr) => {
        #[$crate::rt::entry]
        fn main() -> ! {
            $crate::run(env!("CARGO_BIN_NAME"), || $workload)
        }

        #[$crate::rt::exception]
        unsafe fn HardFault(frame: &$crate::rt::ExceptionFrame) -> ! {
            $crate::hard_fault(env!("CARGO_BIN_NAME"), frame.pc())
        }
    };
}

/// Reports a HardFault at `pc` and exits with failure.
pub fn hard_fault(name: &str, pc: u32) -> ! {
    let mut line = Line::new();
    line.push(b"probe ").push(name.as_bytes()).push(b" FAILED HardFault at pc 0x");
    line.hex(pc).push(b"\n").print();
    exit(false)
}

/// Ends the program: QEMU exits with status 0 or 1.
pub fn exit(success: bool) -> ! {
    let code = if success { debug::EXIT_SUCCESS } else { debug::EXIT_FAILURE };
    loop {
        debug::exit(code);
        cortex_m::asm::wfi();
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    // the location only: formatting the message would link `core::fmt` into every probe
    let mut line = Line::new();
    line.push(b"probe FAILED panic");
    if let Some(at) = info.location() {
        line.push(b" at ").push(at.file().as_bytes()).push(b":").dec(at.line());
    }
    line.push(b"\n").print();
    exit(false)
}

/// A line of output built without `core::fmt` (which would add kilobytes to each probe).
struct Line {
    buf: [u8; 160],
    len: usize,
}

impl Line {
    fn new() -> Self {
        Self { buf: [0; 160], len: 0 }
    }

    fn push(&mut self, bytes: &[u8]) -> &mut Self {
        let n = bytes.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
        self.len += n;
        self
    }

    fn dec(&mut self, mut v: u32) -> &mut Self {
        let mut digits = [0u8; 10];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.push(&digits[i..])
    }

    fn hex(&mut self, v: u32) -> &mut Self {
        let digits: [u8; 8] =
            core::array::from_fn(|i| b"0123456789abcdef"[(v >> (28 - 4 * i)) as usize & 0xF]);
        self.push(&digits)
    }

    fn print(&self) {
        if let Ok(mut out) = hio::hstdout() {
            let _ = out.write_all(&self.buf[..self.len]);
        }
    }
}

const PAINT: u32 = 0xC0FF_EE55;

extern "C" {
    /// End of static RAM (start of the unused region the stack grows down into).
    static __sheap: u32;
}

/// Stack bytes used by `f` below the stack pointer at the call: the unused stack is painted
/// with a pattern first, and the deepest overwritten word is found afterwards (as
/// firmware/src/target.rs does).
///
/// `f` runs behind an opaque `dyn` call, so the compiler cannot inline it into the caller
/// and move its locals into the caller's frame, above the painted region (which would hide
/// them from the measurement).
pub fn stack_used_by(f: impl FnOnce()) -> usize {
    let mut f = Some(f);
    let mut call = || {
        if let Some(f) = f.take() {
            f()
        }
    };
    let call: &mut dyn FnMut() = black_box(&mut call);
    stack_used_by_dyn(call)
}

#[inline(never)]
fn stack_used_by_dyn(f: &mut dyn FnMut()) -> usize {
    // Only the address of the linker symbol is taken, never its contents.
    let bottom = core::ptr::addr_of!(__sheap) as usize;
    let sp = cortex_m::register::msp::read() as usize;
    // leave 64 bytes for this function's own frame
    let painted_top = sp - 64;
    let mut p = bottom.next_multiple_of(4);
    while p < painted_top {
        // SAFETY: [bottom, sp - 64) is RAM between the end of statics and the live stack,
        // unused by anything; aligned words only.
        unsafe { core::ptr::write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
    f();
    let mut p = bottom.next_multiple_of(4);
    // SAFETY: reads aligned words of the region painted above.
    while p < painted_top && unsafe { core::ptr::read_volatile(p as *const u32) } == PAINT {
        p += 4;
    }
    sp - p
}
