//! The digits CNN on a Cortex-M4F (QEMU mps2-an386): the host's CNN from flash, its outputs
//! hashed (the host computes the same hash), instructions per inference and per
//! multiply-accumulate, stack and RAM with reused activation buffers, and fine-tuning of the
//! classifier behind the frozen convolutions on samples read through this device's shifted
//! sensor.
#![no_std]
#![no_main]

use neurite::layer::Infer;
use neurite_firmware::cnn::{self, HEAD, MACS, SCRATCH};
use neurite_firmware::cnn_model::MODEL;
use neurite_firmware::digits::{self, TEST_ROWS, TRAIN_ROWS};
use neurite_firmware::ondevice::{DEVICE, TUNE_SAMPLES};
use neurite_firmware::target::{self, InstructionCounter};

neurite_firmware::exit_on_hardfault!();

fn or_exit<T, E>(r: Result<T, E>) -> T {
    r.unwrap_or_else(|_| target::exit(false))
}

#[inline(never)]
fn infer_reusing(x: &[f32; 64], a: &mut [f32; SCRATCH], b: &mut [f32; SCRATCH]) -> [f32; 10] {
    cnn::infer(x, a, b)
}

#[inline(never)]
fn infer_packed(x: &[f32; 64], a: &mut [f32; SCRATCH], b: &mut [f32; SCRATCH]) -> [f32; 10] {
    cnn::infer_packed(x, a, b)
}

#[inline(never)]
fn infer_chain(x: &[f32; 64]) -> [f32; 10] {
    let mut y = [0.0; 10];
    MODEL.forward(&cnn::image(x), &mut y);
    y
}

/// The same model with its convolutions packed: its outputs on every test row (hashed: the
/// host computes the same), instructions and stack; the second convolution alone, row-major
/// and packed. Exits with failure if the packed convolution's bits differ.
#[inline(never)]
fn packed_figures(
    counter: &mut InstructionCounter,
    x: &[f32; 64],
    a: &mut [f32; SCRATCH],
    b: &mut [f32; SCRATCH],
) {
    let (packed_hash, _) = neurite_firmware::parity::cnn_inference_with(infer_packed);
    defmt::println!("parity cnn packed {=u64:#018x}", packed_hash);
    let mut y = [0.0f32; 10];
    let packed = counter.measure(|| y = infer_packed(x, a, b));
    let stack_packed = target::stack_used_by(|| y = infer_packed(x, a, b));
    // the second convolution alone (85% of the MACs)
    let h = [[[0.5f32; 4]; 4]; 16];
    let (mut c, mut cp) = ([[[0.0f32; 4]; 4]; 32], [[[0.0f32; 4]; 4]; 32]);
    let conv2 = counter.measure(|| MODEL.1 .1 .1 .0.forward(&h, &mut c));
    let conv2_packed = counter.measure(|| cnn::PACKED.1 .1 .1 .0.forward(&h, &mut cp));
    let (c, cp) = (c.as_flattened().as_flattened(), cp.as_flattened().as_flattened());
    let same = c.iter().zip(cp).all(|(p, q)| p.to_bits() == q.to_bits());
    let conv2_macs = cnn::Conv2::GEOM.macs() as u32;
    let ((w, f), (w2, f2), (w3, f3)) = (
        target::per(packed, MACS as u32),
        target::per(conv2, conv2_macs),
        target::per(conv2_packed, conv2_macs),
    );
    defmt::println!(
        "instructions: packed convolutions: inference {=u32} ({=u32}.{=u32:02} per MAC), stack {=usize} bytes; second convolution ({=u32} MACs) {=u32} ({=u32}.{=u32:02} per MAC), packed {=u32} ({=u32}.{=u32:02} per MAC), same bits {=bool}",
        packed, w, f, stack_packed, conv2_macs, conv2, w2, f2, conv2_packed, w3, f3, same
    );
    if !same {
        target::exit(false);
    }
}

#[cortex_m_rt::entry]
fn main() -> ! {
    let cp = cortex_m::Peripherals::take().unwrap_or_else(|| target::exit(false));
    let mut counter = InstructionCounter::new(cp.SYST);
    let n_test = TEST_ROWS.len() as u32;
    defmt::println!("neurite firmware: the digits CNN on a Cortex-M4F (QEMU mps2-an386)");

    // 1. the host's CNN from flash, clean inputs: the host's outputs, bit for bit
    let (hash, correct) = neurite_firmware::parity::cnn_inference();
    defmt::println!("parity cnn {=u64:#018x} correct {=usize}", hash, correct);

    // 2. work and memory of one inference
    static mut BUFFERS: ([f32; SCRATCH], [f32; SCRATCH]) = ([0.0; SCRATCH], [0.0; SCRATCH]);
    // SAFETY: the only reference to BUFFERS, taken once here.
    let (a, b) = unsafe { &mut *core::ptr::addr_of_mut!(BUFFERS) };
    let x = digits::input_with(
        0,
        &neurite_firmware::cnn_model::INPUT_MEAN,
        &neurite_firmware::cnn_model::INPUT_STD,
    );
    let mut y = [0.0f32; 10];
    let instructions = counter.measure(|| y = infer_reusing(&x, a, b));
    let stack_reusing = target::stack_used_by(|| y = infer_reusing(&x, a, b));
    let stack_chain = target::stack_used_by(|| y = infer_chain(&x));
    let (w, f) = target::per(instructions, MACS as u32);
    defmt::println!(
        "instructions: inference {=u32} ({=usize} MACs, {=u32}.{=u32:02} per MAC)",
        instructions,
        MACS,
        w,
        f
    );
    packed_figures(&mut counter, &x, a, b);
    defmt::println!(
        "RAM: two reused activation buffers {=usize} bytes (every intermediate kept: {=usize}); inference buffers in all {=usize} bytes (budget {=usize}); weights {=usize} bytes in flash",
        neurite::footprint::activation_buffers::<cnn::Cnn>(),
        cnn::INTERMEDIATES,
        cnn::INFERENCE.buffers,
        cnn::INFERENCE_RAM_BUDGET,
        cnn::INFERENCE.params
    );
    defmt::println!(
        "stack: inference with reused buffers {=usize} bytes; with the chain's own buffers {=usize} bytes",
        stack_reusing,
        stack_chain
    );

    // 3. this device's sensor shifts the inputs; fine-tune the classifier behind the frozen
    //    convolutions on labelled samples read through the sensor
    let before = or_exit(cnn::accuracy_through_sensor(&HEAD, DEVICE));
    defmt::println!(
        "through this device's sensor (gain {=f32}, offset {=f32} counts): accuracy {=u32}/{=u32}",
        DEVICE.gain,
        DEVICE.offset,
        before,
        n_test
    );
    let (tuned, report) =
        or_exit(cnn::fine_tune(HEAD.clone(), DEVICE, &TRAIN_ROWS[..TUNE_SAMPLES], |n, loss| {
            if n % 128 == 0 {
                defmt::println!("fine-tuning: {=usize} samples read, batch loss {=f32}", n, loss);
            }
        }));
    let after = or_exit(cnn::accuracy_through_sensor(&tuned, DEVICE));
    defmt::println!(
        "after fine-tuning the classifier ({=usize} samples, {=u32} SGD steps): accuracy {=u32}/{=u32}",
        report.samples,
        report.steps,
        after,
        n_test
    );

    let ok = correct as u32 * 100 >= 98 * n_test && after > before && y == cnn::infer(&x, a, b);
    defmt::println!("cnn {=str}", if ok { "passed" } else { "FAILED" });
    target::exit(ok)
}
