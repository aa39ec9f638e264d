//! neurite against the MCU anchors (`benches/mcu/`: CMSIS-DSP, AIfES, plain C), measured the
//! way they are: instructions counted with SysTick in QEMU (`-icount shift=7`), each measured
//! call warmed once, the cost of an empty measurement subtracted.
//!
//! The anchors' model, 64-32-10 (ReLU, softmax + cross-entropy, batch 1, the sample and
//! target of `benches/mcu/mlp_c.c`), as a typed model `Dense<64, 32>, Relu, Dense<32, 10>`:
//! the core's Xavier init with seed 1, computed at compile time into flash (and checked at
//! run time against `LayerInit::XAVIER` with `Rng::new(1)`, bit for bit); and the digits
//! model 64-64-10 (`src/model.rs`, in flash). For each: inference from flash (with the
//! softmax, as the anchors count it, and without), the same with its dense layers packed
//! (`PackedDense`), a full training step on one sample (forward, backward, update) with SGD
//! (lr 0.01) and with Adam (lr 0.001, betas 0.9 / 0.999, eps 1e-7, as the anchors), each
//! update alone, and the RAM training takes. Besides: the 64x64 dense layer of the digits
//! model, row-major and packed (the anchors' matrix-vector product).
//!
//! int8 (the CMSIS-NN anchors of `benches/mcu/nn_bench.c`, same data and parameters:
//! `neurite_firmware::int8_anchors`): fully connected 64 -> 64 and 256 -> 64 and the 3x3
//! convolution 16x16x8 -> 16, with the core's reference int8 kernels and with the packed
//! DSP kernels (`int8_packed`), each output's FNV-1a hash printed (`hash <impl> <problem>
//! <hex>`) for `run.sh` to compare with CMSIS-NN's, and the two kernels checked equal.
//!
//! Built with the default feature `asm` (the core's `cortex-m-asm`) and without it
//! (`--no-default-features`); every figure is one line
//! `figure <implementation> <model> <what> <instructions> <count> <unit>` that
//! `benches/mcu/run.sh` reads.
#![no_std]
#![no_main]

use neurite::footprint::{self, Footprint};
use neurite::layer::{Act, Dense, Infer, Layer, PackedDense, Relu, Softmax};
use neurite::loss::{CrossEntropy, Reduction, Target};
use neurite::optim::{valid, Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
use neurite::params::Params;
use neurite::prelude::{LayerInit, Rng, Trainer};
use neurite_firmware::int8_anchors as int8;
use neurite_firmware::model::MODEL as DIGITS;
use neurite_firmware::target::{self, InstructionCounter};

neurite_firmware::exit_on_hardfault!();

/// The anchors' model.
type Anchor = neurite::Seq![Dense<64, 32>, Relu<32>, Dense<32, 10>];
/// The digits model (`src/model.rs`).
type Digits = neurite_firmware::budget::Model;

const IMPL: &str = if cfg!(feature = "asm") { "neurite" } else { "neurite-noasm" };
const SGD: SgdConfig = SgdConfig::new(0.01);
const ADAM: AdamConfig = AdamConfig { eps: 1e-7, ..AdamConfig::adam(1e-3) };
const TARGET: usize = 3;

/// The core's `Rng` (PCG32) and `Init::XavierUniform` as `const fn`s, so that the anchors'
/// model is initialised at compile time and lives in flash; `main` checks it against the
/// core's own initialiser.
struct ConstRng(u64, u64);

/// PCG32's multiplier (`neurite::rng`).
const MUL: u64 = 6_364_136_223_846_793_005;

impl ConstRng {
    const fn new(seed: u64) -> Self {
        let inc = (0xda3e_39cb_94b9_5bdb_u64 << 1) | 1;
        let state = inc.wrapping_add(seed).wrapping_mul(MUL).wrapping_add(inc);
        Self(state, inc)
    }

    const fn uniform_range(&mut self, low: f32, high: f32) -> f32 {
        let old = self.0;
        self.0 = old.wrapping_mul(MUL).wrapping_add(self.1);
        let bits = ((((old >> 18) ^ old) >> 27) as u32).rotate_right((old >> 59) as u32);
        low + (high - low) * ((bits >> 8) as f32 * (1.0 / 16_777_216.0))
    }
}

/// Xavier-uniform weights in `(-a, a)`, `a = sqrt(6 / (IN + OUT))` (given: no `sqrt` in a
/// `const fn`), zero biases.
const fn xavier<const IN: usize, const OUT: usize>(rng: &mut ConstRng, a: f32) -> Dense<IN, OUT> {
    let mut w = [[0.0; IN]; OUT];
    let mut o = 0;
    while o < OUT {
        let mut i = 0;
        while i < IN {
            w[o][i] = rng.uniform_range(-a, a);
            i += 1;
        }
        o += 1;
    }
    Dense::new(w, [0.0; OUT])
}

const fn anchor_model() -> Anchor {
    let mut rng = ConstRng::new(1);
    // sqrt(6 / 96) = 0.25 and sqrt(6 / 42) rounded to f32 (checked in `main`)
    let d1 = xavier::<64, 32>(&mut rng, 0.25);
    let d2 = xavier::<32, 10>(&mut rng, 0.377_964_47);
    (d1, (Act::new(neurite::activation::Relu), d2))
}

static ANCHOR: Anchor = anchor_model();
static ANCHOR_PACKED: neurite::Seq![PackedDense<64, 32, 4>, Relu<32>, PackedDense<32, 10, 2>] = (
    PackedDense::from_dense(&ANCHOR.0),
    (Act::new(neurite::activation::Relu), PackedDense::from_dense(&ANCHOR.1 .1)),
);
static DIGITS_PACKED: neurite::Seq![PackedDense<64, 64, 8>, Relu<64>, PackedDense<64, 10, 2>] = (
    PackedDense::from_dense(&DIGITS.0),
    (Act::new(neurite::activation::Relu), PackedDense::from_dense(&DIGITS.1 .1)),
);

/// The anchors' sample: `x[i] = (i % 7) * 0.1 - 0.3` (in f32, as `mlp_c.c`), opaque to the
/// compiler (as a sensor's reading: nothing measured is folded at compile time).
fn sample() -> [f32; 64] {
    core::hint::black_box(core::array::from_fn(|i| (i % 7) as f32 * 0.1 - 0.3))
}

fn figure(model: &str, what: &str, instructions: u32, count: usize, unit: &str) {
    defmt::println!(
        "figure {=str} {=str} {=str} {=u32} {=usize} {=str}",
        IMPL,
        model,
        what,
        instructions,
        count,
        unit
    );
}

fn ram(model: &str, what: &str, f: &Footprint) {
    // RAM besides the parameters, as the anchors count it: gradients, optimiser state,
    // activations kept for the backward pass, buffers
    defmt::println!(
        "ram {=str} {=str} {=str} params {=usize} grads {=usize} optimizer {=usize} trace {=usize} buffers {=usize} besides-params {=usize}",
        IMPL,
        model,
        what,
        f.params,
        f.grads,
        f.optimizer,
        f.trace,
        f.buffers,
        f.ram() - f.params
    );
}

/// Everything measured on one model (`M`, in flash, and `P`, its dense layers packed): the
/// figures, and whether the training steps lowered the loss.
fn measure<M, P>(
    counter: &mut InstructionCounter,
    name: &str,
    flash: &'static M,
    packed: &'static P,
    // RAM copies of the model for training, with their trainers and optimisers
    sgd_run: &mut (M, Trainer<M>, Sgd<M::Grads>),
    adam_run: &mut (M, Trainer<M>, Adam<M::Grads>),
) -> bool
where
    M: Layer<Input = [f32; 64], Output = [f32; 10]> + Clone,
    P: Infer<Input = [f32; 64], Output = [f32; 10]>,
{
    // the weights are read from flash at run time, as on a device (not folded)
    let (flash, packed) = (core::hint::black_box(flash), core::hint::black_box(packed));
    let x = sample();
    let macs = {
        let mut m = 0;
        flash.describe(&mut |d| {
            if let neurite::layer::LayerDesc::Dense { inputs, outputs } = d {
                m += inputs * outputs;
            }
        });
        m
    };
    let params = M::LEN;
    let (mut logits, mut p, mut packed_logits) = ([0.0f32; 10], [0.0f32; 10], [0.0f32; 10]);
    let mut infer = || {
        flash.forward(&x, &mut logits);
        Softmax::<10>.forward(&logits, &mut p);
    };
    infer();
    let inference = counter.measure(&mut infer);
    flash.forward(&x, &mut logits);
    let logits_only = counter.measure(|| flash.forward(&x, &mut logits));
    packed.forward(&x, &mut packed_logits);
    let mut q = [0.0f32; 10];
    let packed_inference = counter.measure(|| {
        packed.forward(&x, &mut packed_logits);
        Softmax::<10>.forward(&packed_logits, &mut q);
    });
    let same = logits.iter().zip(&packed_logits).all(|(a, b)| a.to_bits() == b.to_bits());
    figure(name, "inference", inference, macs, "MAC");
    figure(name, "inference-logits", logits_only, macs, "MAC");
    figure(name, "inference-packed", packed_inference, macs, "MAC");

    // each optimiser: the loss at the start, two warm-up steps, the measured step, the update
    // alone (on that step's gradients), 19 more steps (23 updates in all, as mlp_c.c's Adam
    // run), the loss again. Both measured at step 3 or later: at steps 1 and 2 libm's `pow`
    // (Adam's bias corrections, in double precision) takes a shortcut (y = 1, y = 2) that
    // saves about 17,000 instructions, which no later step does
    let (model, trainer, sgd) = sgd_run;
    let sgd_l0 = loss(model, trainer);
    train_step(model, trainer, sgd);
    train_step(model, trainer, sgd);
    let sgd_train = counter.measure(|| train_step(model, trainer, sgd));
    let sgd_update = counter.measure(|| sgd.step(model, &trainer.grads));
    for _ in 0..19 {
        train_step(model, trainer, sgd);
    }
    let sgd_l1 = loss(model, trainer);
    figure(name, "sgd-step", sgd_train, macs, "MAC");
    figure(name, "sgd-update", sgd_update, params, "param");

    let (model, trainer, adam) = adam_run;
    let adam_l0 = loss(model, trainer);
    train_step(model, trainer, adam);
    train_step(model, trainer, adam);
    let adam_train = counter.measure(|| train_step(model, trainer, adam));
    let adam_update = counter.measure(|| adam.step(model, &trainer.grads));
    for _ in 0..19 {
        train_step(model, trainer, adam);
    }
    let adam_l1 = loss(model, trainer);
    figure(name, "adam-step", adam_train, macs, "MAC");
    figure(name, "adam-update", adam_update, params, "param");

    defmt::println!(
        "check {=str} {=str} packed same bits {=bool}; SGD loss {=f32} -> {=f32} after 23 updates; Adam loss {=f32} -> {=f32} after 23 updates",
        IMPL,
        name,
        same,
        sgd_l0,
        sgd_l1,
        adam_l0,
        adam_l1
    );
    same && sgd_l1 < sgd_l0 && adam_l1 < adam_l0
}

/// One training step on the anchors' sample: forward, loss, backward, update.
fn train_step<M, O>(model: &mut M, trainer: &mut Trainer<M>, opt: &mut O)
where
    M: Layer<Input = [f32; 64], Output = [f32; 10]>,
    O: Optimizer<M::Grads>,
{
    let ce = CrossEntropy::default();
    trainer.begin();
    let _ = trainer.accumulate(model, &ce, &sample(), Target::Class(TARGET));
    let _ = trainer.finish(&ce, Reduction::Mean);
    opt.step(model, &trainer.grads);
}

/// The cross-entropy of the anchors' sample (NaN when the trainer refuses it).
fn loss<M: Layer<Input = [f32; 64], Output = [f32; 10]>>(
    model: &M,
    trainer: &mut Trainer<M>,
) -> f32 {
    trainer.begin();
    let ce = CrossEntropy::default();
    trainer.accumulate(model, &ce, &sample(), Target::Class(TARGET)).unwrap_or(f32::NAN)
}

type AnchorRun<O> = (Anchor, Trainer<Anchor>, O);
type DigitsRun<O> = (Digits, Trainer<Digits>, O);
type AG = <Anchor as Layer>::Grads;
type DG = <Digits as Layer>::Grads;

/// The RAM copies the training steps change: each model with SGD and with Adam.
type Runs = (AnchorRun<Sgd<AG>>, AnchorRun<Adam<AG>>, DigitsRun<Sgd<DG>>, DigitsRun<Adam<DG>>);

static mut RUNS: Runs = (
    (anchor_model(), Trainer::new(), valid!(Sgd::new(SGD))),
    (anchor_model(), Trainer::new(), valid!(Adam::new(ADAM))),
    (DIGITS, Trainer::new(), valid!(Sgd::new(SGD))),
    (DIGITS, Trainer::new(), valid!(Adam::new(ADAM))),
);

/// The int8 problems and the packed kernels' buffers (word-aligned).
struct Int8Runs {
    problems: int8::Problems,
    fc_packed: int8::Aligned<[i8; int8::FC_PACKED]>,
    conv_packed: int8::Aligned<[i8; int8::CONV_PACKED]>,
    scratch: int8::Aligned<[i16; int8::SCRATCH]>,
    fc_out: [[i8; int8::FC_OUT]; 2],
    conv_out: [[i8; int8::HW * int8::HW * int8::CO]; 2],
}

static mut INT8: Int8Runs = Int8Runs {
    problems: int8::EMPTY,
    fc_packed: int8::Aligned([0; int8::FC_PACKED]),
    conv_packed: int8::Aligned([0; int8::CONV_PACKED]),
    scratch: int8::Aligned([0; int8::SCRATCH]),
    fc_out: [[0; int8::FC_OUT]; 2],
    conv_out: [[0; int8::HW * int8::HW * int8::CO]; 2],
};

/// The int8 anchors: reference and packed kernels measured, hashed, compared.
fn measure_int8(counter: &mut InstructionCounter) -> bool {
    // SAFETY: the only reference to INT8, taken once here.
    let r = unsafe { &mut *core::ptr::addr_of_mut!(INT8) };
    r.problems.generate();
    let p = &r.problems;
    let mut same = true;
    for n_in in [64, int8::FC_IN] {
        let problem = if n_in == 64 { "fc-64x64" } else { "fc-256x64" };
        let macs = n_in * int8::FC_OUT;
        let [reference, packed] = &mut r.fc_out;
        int8::fc_reference(p, n_in, reference);
        let plain = counter.measure(|| int8::fc_reference(p, n_in, reference));
        same &= int8::pack_fc(p, n_in, int8::Rounding::Double, &mut r.fc_packed.0);
        let scratch = &mut r.scratch.0;
        int8::fc_packed(p, n_in, &r.fc_packed.0, scratch, packed);
        let fast = counter.measure(|| int8::fc_packed(p, n_in, &r.fc_packed.0, scratch, packed));
        same &= reference == packed;
        figure("int8", problem, fast, macs, "MAC");
        figure("int8", &problem_reference(problem), plain, macs, "MAC");
        defmt::println!("hash {=str} {=str} {=u32:08x}", IMPL, problem, int8::fnv1a(packed));
    }
    // LiteRT's single rounding (its per-channel fully connected), packed: the same bits
    let [reference, packed] = &mut r.fc_out;
    int8::fc_reference_with(p, int8::FC_IN, int8::Rounding::Single, reference);
    same &= int8::pack_fc(p, int8::FC_IN, int8::Rounding::Single, &mut r.fc_packed.0);
    int8::fc_packed(p, int8::FC_IN, &r.fc_packed.0, &mut r.scratch.0, packed);
    let single_same = reference == packed;
    defmt::println!(
        "check {=str} int8 single rounding packed same bits {=bool}",
        IMPL,
        single_same
    );
    same &= single_same;

    let macs = int8::HW * int8::HW * int8::CO * int8::TAPS;
    let [reference, packed] = &mut r.conv_out;
    int8::conv_reference(p, reference);
    let plain = counter.measure(|| int8::conv_reference(p, reference));
    same &= int8::pack_conv(p, &mut r.conv_packed.0);
    let scratch = &mut r.scratch.0;
    int8::conv_packed(p, &r.conv_packed.0, scratch, packed);
    let fast = counter.measure(|| int8::conv_packed(p, &r.conv_packed.0, scratch, packed));
    same &= reference == packed;
    figure("int8", "conv-16x16x8", fast, macs, "MAC");
    figure("int8", "conv-16x16x8-reference", plain, macs, "MAC");
    defmt::println!("hash {=str} conv-16x16x8 {=u32:08x}", IMPL, int8::fnv1a(packed));
    defmt::println!("check {=str} int8 packed same bits as reference {=bool}", IMPL, same);
    same
}

/// The figure name of a problem's reference-kernel run.
fn problem_reference(problem: &str) -> heapless::String<32> {
    let mut s = heapless::String::new();
    let _ = s.push_str(problem);
    let _ = s.push_str("-reference");
    s
}

#[cortex_m_rt::entry]
fn main() -> ! {
    let cp = cortex_m::Peripherals::take().unwrap_or_else(|| target::exit(false));
    let mut counter = InstructionCounter::new(cp.SYST);
    defmt::println!(
        "neurite against the MCU anchors ({=str}): 64-32-10 and the digits model 64-64-10 on a Cortex-M4F (QEMU mps2-an386)",
        IMPL
    );

    // the flash model is the core's Xavier init with seed 1
    let mut core_init = Anchor::DEFAULT;
    core_init.init(&LayerInit::XAVIER, &mut Rng::new(1));
    let same_init = (0..Anchor::TENSORS).all(|t| {
        let (a, b) = (ANCHOR.tensor(t), core_init.tensor(t));
        a.iter().zip(b).all(|(a, b)| a.to_bits() == b.to_bits())
    });
    defmt::println!(
        "check {=str} 64-32-10 flash model is the core's Xavier init, seed 1: {=bool}",
        IMPL,
        same_init
    );

    // SAFETY: the only reference to RUNS, taken once here.
    let (a_sgd, a_adam, d_sgd, d_adam) = unsafe { &mut *core::ptr::addr_of_mut!(RUNS) };
    let ok_anchor = measure(&mut counter, "64-32-10", &ANCHOR, &ANCHOR_PACKED, a_sgd, a_adam);
    let ok_digits = measure(&mut counter, "64-64-10", &DIGITS, &DIGITS_PACKED, d_sgd, d_adam);

    ram("64-32-10", "sgd", &footprint::training::<Anchor, Sgd<AG>>());
    ram("64-32-10", "adam", &footprint::training::<Anchor, Adam<AG>>());
    ram("64-64-10", "sgd", &footprint::training::<Digits, Sgd<DG>>());
    ram("64-64-10", "adam", &footprint::training::<Digits, Adam<DG>>());

    // the 64x64 matrix-vector product: the digits model's first layer (bias included), its
    // weights row-major (`Dense`) and packed
    let x = sample();
    let (dense, packed) =
        (core::hint::black_box(&DIGITS.0), core::hint::black_box(&DIGITS_PACKED.0));
    let (mut h, mut hp) = ([0.0f32; 64], [0.0f32; 64]);
    dense.forward(&x, &mut h);
    let row_major = counter.measure(|| dense.forward(&x, &mut h));
    packed.forward(&x, &mut hp);
    let packed = counter.measure(|| packed.forward(&x, &mut hp));
    let same = h.iter().zip(&hp).all(|(a, b)| a.to_bits() == b.to_bits());
    figure("64x64", "matvec", row_major, 64 * 64, "MAC");
    figure("64x64", "matvec-packed", packed, 64 * 64, "MAC");
    defmt::println!("check {=str} 64x64 packed same bits {=bool}", IMPL, same);

    let int8_same = measure_int8(&mut counter);

    let ok = same_init && ok_anchor && ok_digits && same && int8_same;
    defmt::println!("anchors {=str}", if ok { "passed" } else { "FAILED" });
    target::exit(ok)
}
