//! The firmware demo (Cortex-M4F in QEMU). The digits model exported by the host runs from
//! flash. This device's sensor has its own gain and offset, which costs the desktop model
//! accuracy; the device fine-tunes the model's head on labelled samples read through the
//! sensor driver (the frozen layers stay in flash), saves the head to flash as a model file
//! (A/B slots), and reports accuracy, memory, stack and instructions.
//!
//! The flash is a file on the machine running QEMU (`host_flash`), so it outlives the run:
//! the next run is a reboot, and it starts by loading the head the previous run saved.
#![no_std]
#![no_main]

use neurite::layer::{Infer, Layer, PackedDense};
use neurite::loss::{CrossEntropy, Reduction, Target};
use neurite::optim::{valid, Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
use neurite::params::Zeroed;
use neurite::prelude::Trainer;
use neurite::train::FineTune;
use neurite_firmware::budget::{self, Head, HeadOptimizer, FROZEN, HEAD};
use neurite_firmware::digits::{self, TEST_ROWS, TRAIN_ROWS};
use neurite_firmware::host_flash::{HostFlash, HostFlashError};
use neurite_firmware::model::MODEL;
use neurite_firmware::ondevice::{self, DEVICE, TUNE_SAMPLES};
use neurite_firmware::parity::hash_params;
use neurite_firmware::saved;
use neurite_firmware::storage::AbStore;
use neurite_firmware::target::{self, InstructionCounter};

neurite_firmware::exit_on_hardfault!();

fn or_exit<T, E: core::fmt::Debug>(r: Result<T, E>) -> T {
    r.unwrap_or_else(|e| {
        defmt::error!("demo stopped: {}", defmt::Debug2Format(&e));
        target::exit(false)
    })
}

#[cortex_m_rt::entry]
fn main() -> ! {
    let cp = cortex_m::Peripherals::take().unwrap_or_else(|| target::exit(false));
    let mut counter = InstructionCounter::new(cp.SYST);
    let n_test = TEST_ROWS.len() as u32;
    defmt::println!("neurite firmware demo: digits 64-64-10 on a Cortex-M4F (QEMU mps2-an386)");

    // 0. boot: the head and optimiser a previous run saved in flash, if any
    let flash = match HostFlash::<{ saved::FLASH_BYTES }>::from_command_line() {
        Err(HostFlashError::WrongSize) => {
            defmt::error!("demo stopped: the flash file is not {=usize} bytes (another build's layout): delete it ($NEURITE_FLASH, by default the binary's path + .flash)", saved::FLASH_BYTES);
            target::exit(false)
        }
        opened => or_exit(opened),
    };
    let mut store = AbStore::new(flash, 0, saved::SLOT_BYTES);
    let restored = match saved::load_head(&mut store) {
        // a file saved by another build (another head) is not this device's: start afresh
        Err(saved::SavedError::Model(e)) => {
            defmt::println!(
                "boot: the saved head is not this model's ({}): ignored",
                defmt::Display2Format(&e)
            );
            None
        }
        Err(e) => or_exit(Err(e)),
        Ok(None) => {
            defmt::println!("boot: no saved head in flash (first boot)");
            None
        }
        Ok(Some(saved)) => {
            let (rec, hash) = (saved.record, hash_params(&saved.head));
            let acc = or_exit(ondevice::accuracy_through_sensor(&saved.head, DEVICE));
            defmt::println!("boot: flash slot {=usize} (seq {=u32}) holds a fine-tuned head, model file {=usize} bytes, params fnv1a {=u64:#018x}: accuracy {=u32}/{=u32} through this device's sensor; fine-tuning resumes at optimiser step {=u32}", rec.slot, rec.seq, rec.len, hash, acc, n_test, saved.optimizer.steps());
            Some(saved)
        }
    };

    // 1. the desktop model from flash, clean inputs: the host's outputs, bit for bit
    let (hash, correct) = neurite_firmware::parity::digits_inference();
    defmt::println!(
        "desktop model, clean inputs: accuracy {=u32}/{=u32}, outputs fnv1a {=u64:#018x}",
        correct as u32,
        n_test,
        hash
    );

    // 2. this device's sensor shifts the inputs
    let before = or_exit(ondevice::accuracy_through_sensor(&HEAD, DEVICE));
    defmt::println!(
        "through this device's sensor (gain {=f32}, offset {=f32} counts): accuracy {=u32}/{=u32}",
        DEVICE.gain,
        DEVICE.offset,
        before,
        n_test
    );

    // 3. fine-tune the head on labelled samples arriving through the sensor: the exported
    //    head with a fresh optimiser on the first boot, then where the last run stopped
    let (start, mut head_opt, steps_before) = match &restored {
        Some(saved) => (saved.head.clone(), saved.optimizer.clone(), saved.optimizer.steps()),
        None => (HEAD.clone(), or_exit(ondevice::new_optimizer()), 0),
    };
    let (tuned, report) = or_exit(ondevice::fine_tune(
        start,
        &mut head_opt,
        DEVICE,
        &TRAIN_ROWS[..TUNE_SAMPLES],
        |n, loss| {
            if n % 128 == 0 {
                defmt::println!(
                    "fine-tuning: {=usize} samples read from the sensor, batch loss {=f32}",
                    n,
                    loss
                );
            }
        },
    ));
    let after = or_exit(ondevice::accuracy_through_sensor(&tuned, DEVICE));
    defmt::println!(
        "after fine-tuning the head ({=usize} samples, {=u32} SGD steps, {=u32} in all): accuracy {=u32}/{=u32}",
        report.samples,
        report.steps - steps_before,
        report.steps,
        after,
        n_test
    );

    // 4. save the fine-tuned head and its optimiser to flash as a model file (A/B), and read
    //    them back
    let tuned_hash = hash_params(&tuned);
    let rec = or_exit(saved::save_head(&mut store, &tuned, &head_opt));
    let back = or_exit(saved::load_head(&mut store)).unwrap_or_else(|| target::exit(false));
    let reloaded = or_exit(ondevice::accuracy_through_sensor(&back.head, DEVICE));
    defmt::println!("saved the fine-tuned head to flash slot {=usize} (seq {=u32}): model file {=usize} bytes, params fnv1a {=u64:#018x}; read back: accuracy {=u32}/{=u32}; the next run boots from it", rec.slot, rec.seq, rec.len, tuned_hash, reloaded, n_test);

    // 5. work and memory per sample
    let x = digits::input(0);
    let mut y = [0.0f32; 10];
    let infer = counter.measure(|| MODEL.forward(&x, &mut y));
    let infer_stack = target::stack_used_by(|| MODEL.forward(&x, &mut y));
    const W: usize = <budget::Model as Infer>::SCRATCH_WIDTH;
    let buffered_stack = target::stack_used_by(|| MODEL.forward_buffered::<W>(&x, &mut y));
    let macs = 64 * 64 + 64 * 10;
    let ce = CrossEntropy::default();
    let mut trainer = Trainer::<Head>::new();
    let mut opt = or_exit(HeadOptimizer::new(ondevice::HEAD_SGD));
    let mut ft = FineTune::new(&FROZEN, tuned.clone());
    let mut step = || {
        trainer.begin();
        let _ = ft.accumulate(&mut trainer, &ce, &x, Target::Class(0));
        let _ = trainer.finish(&ce, Reduction::Mean);
        ft.step(&mut opt, &trainer);
    };
    let train = counter.measure(&mut step);
    let train_stack = target::stack_used_by(&mut step);

    // a full training step of the whole model (RAM copy, all layers), SGD and Adam, to compare
    // with the anchors' plain-C and AIfES train steps
    type G = <budget::Model as Layer>::Grads;
    static mut FULL: (budget::Model, Trainer<budget::Model>, Sgd<G>, Adam<G>) = (
        MODEL,
        Trainer::new(),
        valid!(Sgd::new(SgdConfig::new(1e-3))),
        valid!(Adam::new(AdamConfig::adam(1e-3))),
    );
    // SAFETY: the only reference to FULL, taken once here.
    let (model, full, sgd, adam) = unsafe { &mut *core::ptr::addr_of_mut!(FULL) };
    let mut full_sgd_step = || {
        full.begin();
        let _ = full.accumulate(model, &ce, &x, Target::Class(0));
        let _ = full.finish(&ce, Reduction::Mean);
        sgd.step(model, &full.grads);
    };
    let full_sgd = counter.measure(&mut full_sgd_step);
    let full_stack = target::stack_used_by(&mut full_sgd_step);
    // Adam's bias corrections (`pow` in double precision) return early at steps 1 and 2:
    // two steps first, so that the figures are those of every later step
    for _ in 0..2 {
        full.begin();
        let _ = full.accumulate(model, &ce, &x, Target::Class(0));
        let _ = full.finish(&ce, Reduction::Mean);
        adam.step(model, &full.grads);
    }
    let full_adam = counter.measure(|| {
        full.begin();
        let _ = full.accumulate(model, &ce, &x, Target::Class(0));
        let _ = full.finish(&ce, Reduction::Mean);
        adam.step(model, &full.grads);
    });
    // the optimisers' updates alone, on the gradients of that step
    let sgd_update = counter.measure(|| sgd.step(model, &full.grads));
    let adam_update = counter.measure(|| adam.step(model, &full.grads));
    // forward, weight gradients, and the head's input gradient
    let full_macs = 2 * (64 * 64 + 64 * 10) + 64 * 10;
    let train_macs = 64 * 64 + 64 * 10 + 64 * 10; // frozen + head forward, head weight gradient
    let (a, b) = target::per(infer, macs);
    defmt::println!(
        "instructions: inference {=u32} ({=u32} MACs, {=u32}.{=u32:02} per MAC)",
        infer,
        macs,
        a,
        b
    );
    // the first layer (64x64) with its weights laid out for the loop (`PackedDense`, the
    // same bits), against the row-major layer: the anchors' 64x64 matrix-vector product
    static PACKED: PackedDense<64, 64, 8> = PackedDense::from_dense(&MODEL.0);
    let (mut h, mut hp) = ([0.0f32; 64], [0.0f32; 64]);
    let row_major = counter.measure(|| MODEL.0.forward(&x, &mut h));
    let packed = counter.measure(|| PACKED.forward(&x, &mut hp));
    let same = h.iter().zip(&hp).all(|(a, b)| a.to_bits() == b.to_bits());
    let ((a, b), (c, d)) = (target::per(row_major, 4096), target::per(packed, 4096));
    defmt::println!(
        "instructions: 64x64 dense layer: row-major {=u32} ({=u32}.{=u32:02} per MAC), packed {=u32} ({=u32}.{=u32:02} per MAC), same bits {=bool}",
        row_major,
        a,
        b,
        packed,
        c,
        d,
        same
    );
    if !same {
        target::exit(false);
    }
    let (a, b) = target::per(train, train_macs);
    defmt::println!("instructions: fine-tuning step on 1 sample (frozen forward, head forward and backward, SGD momentum) {=u32} ({=u32}.{=u32:02} per MAC)", train, a, b);
    let (a, b) = target::per(full_sgd, full_macs);
    defmt::println!("instructions: full training step on 1 sample, all 4810 parameters: SGD {=u32} ({=u32}.{=u32:02} per MAC), Adam {=u32}", full_sgd, a, b, full_adam);
    let ((a, b), (c, d)) = (target::per(sgd_update, 4810), target::per(adam_update, 4810));
    defmt::println!("instructions: the update alone, 4810 parameters: SGD {=u32} ({=u32}.{=u32:02} per parameter), Adam {=u32} ({=u32}.{=u32:02} per parameter)", sgd_update, a, b, adam_update, c, d);
    // an Adam step alone on a small model, where the per-step bias corrections (soft double
    // precision) weigh most: 4 tensors, 67 parameters
    type S = neurite_firmware::parity::Small;
    let mut small = neurite_firmware::parity::small(7);
    let mut small_adam = or_exit(Adam::<<S as Layer>::Grads>::new(AdamConfig::adam(1e-3)));
    let small_grads = <S as Layer>::Grads::ZEROED;
    small_adam.step(&mut small, &small_grads);
    small_adam.step(&mut small, &small_grads);
    let adam_small = counter.measure(|| small_adam.step(&mut small, &small_grads));
    defmt::println!(
        "instructions: Adam step alone, 4-8-3 MLP (67 parameters, 4 tensors) {=u32}",
        adam_small
    );
    defmt::println!(
        "stack: inference {=usize} bytes (forward_buffered {=usize}), fine-tuning step {=usize} bytes, full training step (SGD) {=usize} bytes",
        infer_stack,
        buffered_stack,
        train_stack,
        full_stack
    );
    let (inf, fine) = (budget::INFERENCE, budget::FINE_TUNE);
    defmt::println!("RAM (compile time): inference {=usize} bytes of buffers, weights {=usize} bytes in flash (budget {=usize})", inf.buffers, inf.params, budget::INFERENCE_RAM_BUDGET);
    defmt::println!("RAM (compile time): fine-tuning {=usize} bytes: head {=usize}, gradients {=usize}, SGD {=usize}, buffers {=usize}; frozen {=usize} bytes in flash (budget {=usize})", fine.ram(), fine.params, fine.grads, fine.optimizer, fine.buffers, fine.frozen, budget::FINE_TUNE_RAM_BUDGET);

    // after a reboot, fine-tuning went on from the saved optimiser step, and the save went to
    // the other slot
    let reboot_ok = restored.is_none_or(|prev| {
        let (old, was) = (prev.record, prev.optimizer.steps());
        report.steps > was && rec.seq == old.seq + 1 && rec.slot != old.slot
    });
    let ok = correct as u32 * 100 >= 97 * n_test
        && after >= before + n_test / 2
        && reloaded == after
        && hash_params(&back.head) == tuned_hash
        && back.optimizer == head_opt
        && reboot_ok
        && opt.steps() > 0;
    defmt::println!("demo {=str}", if ok { "passed" } else { "FAILED" });
    target::exit(ok)
}
