//! The activity GRU on a Cortex-M4F (QEMU mps2-an386): windows of a simulated 3-axis
//! accelerometer (an LIS3DH behind embedded-hal I2C) stream through the GRU one sample at a
//! time; this unit's accelerometer is uncalibrated, so the device fine-tunes the dense head on
//! a prompted calibration session. Prints accuracies and output hashes (the host computes the
//! same), checks streaming against the whole-window forward, and measures instructions per
//! time step, stack and RAM.
#![no_std]
#![no_main]

use neurite_firmware::accel::Accelerometer;
use neurite_firmware::activity::{
    self, Head, HeadOptimizer, Stream, DEVICE, HEAD, HIDDEN, RING, TEST_WINDOWS,
};
use neurite_firmware::motion::{schedule, AXES, WINDOW};
use neurite_firmware::sim::{AccelCalibration, SimulatedAccelerometer};
use neurite_firmware::target::{self, InstructionCounter};

neurite_firmware::exit_on_hardfault!();

#[inline(never)]
fn one_step(s: &mut Stream, g: [f32; AXES]) {
    s.push(g);
}

fn fail(what: &str) -> ! {
    defmt::println!("activity FAILED: {=str}", what);
    target::exit(false)
}

#[cortex_m_rt::entry]
fn main() -> ! {
    let cp = cortex_m::Peripherals::take().unwrap_or_else(|| target::exit(false));
    let mut counter = InstructionCounter::new(cp.SYST);
    defmt::println!(
        "neurite firmware: the activity GRU on a Cortex-M4F (QEMU mps2-an386), streaming from an I2C accelerometer"
    );

    // 1. the streamed GRU and head equal the exported model's whole-window forward, bit for bit
    let agree = activity::streaming_agrees(DEVICE, TEST_WINDOWS).unwrap_or_else(|_| fail("sensor"));
    defmt::println!(
        "streaming the same bits as the whole window: {=usize} of {=usize}",
        agree,
        TEST_WINDOWS
    );

    // 2. the desktop model on the nominal part, and on this unit's part
    let nominal =
        activity::accuracy(&HEAD, AccelCalibration::NOMINAL).unwrap_or_else(|_| fail("sensor"));
    let before = activity::accuracy(&HEAD, DEVICE).unwrap_or_else(|_| fail("sensor"));
    defmt::println!(
        "nominal part: {=u32} of {=usize} hash {=u64:#018x}",
        nominal.correct,
        TEST_WINDOWS,
        nominal.hash
    );
    defmt::println!(
        "this unit, before: {=u32} of {=usize} hash {=u64:#018x}",
        before.correct,
        TEST_WINDOWS,
        before.hash
    );

    // 3. fine-tune the head on the calibration session (its stack is the fine-tuning's RAM:
    //    the ring buffer, trainer, optimiser and head copy live there)
    let mut result = None;
    let tune_stack = target::stack_used_by(|| {
        result = Some(activity::fine_tune(HEAD.clone(), DEVICE, |w, loss| {
            defmt::println!("fine-tune: {=usize} windows, loss {=f32}", w, loss);
        }));
    });
    let (head, report) = match result {
        Some(Ok(r)) => r,
        _ => fail("fine-tuning"),
    };
    let after = activity::accuracy(&head, DEVICE).unwrap_or_else(|_| fail("sensor"));
    defmt::println!(
        "this unit, after: {=u32} of {=usize} hash {=u64:#018x} steps {=u32}",
        after.correct,
        TEST_WINDOWS,
        after.hash,
        report.steps
    );

    // 4. one time step from the bus: instructions (the I2C transfers and the simulated part
    //    included, then the GRU's step alone) and stack
    let activities = schedule::<4>(1);
    let sim = SimulatedAccelerometer::new(&activities, 1, DEVICE);
    let mut drv = Accelerometer::new(sim).unwrap_or_else(|_| fail("sensor"));
    let mut s = Stream::new();
    let mut g = [0.0f32; AXES];
    for _ in 0..3 {
        g = drv.read_g().unwrap_or_else(|_| fail("sensor"));
        s.push(g);
    }
    let read = counter.measure(|| g = drv.read_g().unwrap_or([0.0; AXES]));
    let step = counter.measure(|| one_step(&mut s, g));
    let stack = target::stack_used_by(|| one_step(&mut s, g));
    let macs = (3 * HIDDEN * (AXES + HIDDEN)) as u32;
    let (a, b) = target::per(step, macs);
    defmt::println!(
        "instructions: one time step {=u32} ({=u32} MACs, {=u32}.{=u32:02} per MAC); reading the sample over I2C {=u32}; a window {=usize} steps",
        step,
        macs,
        a,
        b,
        read,
        WINDOW
    );
    defmt::println!(
        "RAM: the streaming state {=usize} bytes; stack of a step {=usize} bytes; fine-tuning stack {=usize} bytes (ring {=usize}, head {=usize}, optimiser {=usize}); weights {=usize} bytes in flash",
        core::mem::size_of::<Stream>(),
        stack,
        tune_stack,
        RING * core::mem::size_of::<([f32; HIDDEN], u8)>(),
        core::mem::size_of::<Head>(),
        core::mem::size_of::<HeadOptimizer>(),
        core::mem::size_of::<neurite_firmware::activity_model::Model>()
    );
    let ok = agree == TEST_WINDOWS && after.correct > before.correct + 10;
    defmt::println!("activity {=str}", if ok { "passed" } else { "FAILED" });
    target::exit(ok)
}
