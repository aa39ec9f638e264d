//! The digits GRU on a Cortex-M4F (QEMU mps2-an386), streaming: each test digit arrives as 8
//! time steps of 8 pixels and the hidden state is carried between steps. Prints the outputs'
//! hash (the host computes the same), checks the whole-sequence forward gives the same bits,
//! and measures instructions per time step, stack and RAM.
#![no_std]
#![no_main]

use neurite_firmware::digits::{PIXELS, TEST_ROWS};
use neurite_firmware::gru::{self, Stream, FEATURES, HIDDEN, STEPS};
use neurite_firmware::target::{self, InstructionCounter};

neurite_firmware::exit_on_hardfault!();

#[inline(never)]
fn one_step(s: &mut Stream, x: &[f32; FEATURES]) {
    s.push(x);
}

#[cortex_m_rt::entry]
fn main() -> ! {
    let cp = cortex_m::Peripherals::take().unwrap_or_else(|| target::exit(false));
    let mut counter = InstructionCounter::new(cp.SYST);
    defmt::println!(
        "neurite firmware: the digits GRU on a Cortex-M4F (QEMU mps2-an386), streaming"
    );

    // 1. every test row streamed: the host's outputs, bit for bit (hash), and the same bits as
    //    the whole-sequence forward
    let (streamed, correct) = neurite_firmware::parity::gru_inference(true);
    let (whole, _) = neurite_firmware::parity::gru_inference(false);
    defmt::println!(
        "parity gru {=u64:#018x} correct {=usize} of {=usize}; whole sequence the same bits {=bool}",
        streamed,
        correct,
        TEST_ROWS.len(),
        streamed == whole
    );

    // 2. one time step: instructions and stack; the state carried between steps
    let raw: [f32; 64] = core::array::from_fn(|k| f32::from(PIXELS[usize::from(TEST_ROWS[0])][k]));
    let x = gru::step_input(&raw, 3);
    let mut s = Stream::new();
    for t in 0..3 {
        s.push(&gru::step_input(&raw, t));
    }
    let step = counter.measure(|| one_step(&mut s, &x));
    let stack = target::stack_used_by(|| one_step(&mut s, &x));
    let mut y = [0.0f32; 10];
    let head = counter.measure(|| y = s.scores());
    // MACs per step: the gates' two products (3 x 32 x 8 and 3 x 32 x 32)
    let macs = (3 * HIDDEN * (FEATURES + HIDDEN)) as u32;
    let (a, b) = target::per(step, macs);
    defmt::println!(
        "instructions: one time step {=u32} ({=u32} MACs, {=u32}.{=u32:02} per MAC); the head on the last state {=u32}; a whole digit {=u32} steps",
        step,
        macs,
        a,
        b,
        head,
        STEPS as u32
    );
    defmt::println!(
        "RAM: the streaming state {=usize} bytes; stack of a step {=usize} bytes; weights {=usize} bytes in flash",
        core::mem::size_of::<Stream>(),
        stack,
        4 * 4362
    );
    let ok = streamed == whole
        && correct * 100 >= 95 * TEST_ROWS.len()
        && y.iter().all(|v| v.is_finite());
    defmt::println!("gru {=str}", if ok { "passed" } else { "FAILED" });
    target::exit(ok)
}
