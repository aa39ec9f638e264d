//! neurite on the nRF52840 DK (PCA10056, Cortex-M4F at 64 MHz): the digits model exported
//! by the host (`firmware/src/model.rs`) classifies a fixed sample, then its last layer takes
//! one fine-tuning SGD step; the results go out as defmt over RTT, and LED1 blinks as a
//! heartbeat. `cargo run --release` with the board attached (see boards/README.md).
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use defmt_rtt as _;
use embedded_hal::delay::DelayNs;
use embedded_hal::digital::StatefulOutputPin;
use nrf52840_hal::gpio::{p0, Level};
use nrf52840_hal::{pac, Clocks, Delay};
use panic_probe as _;

/// The digits model exported by the host: one copy, the firmware's.
#[rustfmt::skip]
#[allow(dead_code, clippy::all)]
#[path = "../../../firmware/src/model.rs"]
mod model;
#[path = "../../common/digits.rs"]
mod digits;

use digits::{Head, HeadOptimizer, Tuned, FINE_TUNE, INFERENCE};
use neurite::prelude::Trainer;

/// RAM of the nRF52840 (memory.x).
const RAM: usize = 256 * 1024;
/// RAM this firmware promises for inference (weights stay in flash).
const INFERENCE_RAM_BUDGET: usize = 16 * 1024;
/// RAM this firmware promises for fine-tuning the head.
const FINE_TUNE_RAM_BUDGET: usize = 32 * 1024;
const _: () =
    assert!(INFERENCE.buffers <= INFERENCE_RAM_BUDGET, "inference exceeds its RAM budget");
const _: () =
    assert!(FINE_TUNE.ram() <= FINE_TUNE_RAM_BUDGET, "fine-tuning exceeds its RAM budget");
const _: () =
    assert!(INFERENCE_RAM_BUDGET + FINE_TUNE_RAM_BUDGET <= RAM / 2, "budgets leave half the RAM");

#[entry]
fn main() -> ! {
    // cortex-m-rt makes these `&'static mut`, taken once: the head, its gradients and the
    // optimiser live in .data/.bss, so the linker counts them
    static mut MODEL: Tuned = digits::tuned();
    static mut TRAINER: Trainer<Head> = Trainer::new();
    static mut OPT: HeadOptimizer = digits::OPTIMIZER;

    let (Some(p), Some(cp)) = (pac::Peripherals::take(), pac::CorePeripherals::take()) else {
        panic!("peripherals taken twice");
    };
    // 64 MHz from the external 32 MHz crystal
    let _clocks = Clocks::new(p.CLOCK).enable_ext_hfosc();
    let mut delay = Delay::new(cp.SYST);
    let port0 = p0::Parts::new(p.P0);
    let mut led = port0.p0_13.into_push_pull_output(Level::High); // LED1, active low
    defmt::println!("neurite on the nRF52840 DK: digits 64-64-10");

    let _ = led.toggle();
    let x = digits::standardise(&digits::SAMPLE);
    let (class, _) = digits::predict(MODEL, &x);
    defmt::println!("inference: predicted class {=usize} (label {=usize})", class, digits::LABEL);
    match digits::fine_tune_step(MODEL, TRAINER, OPT, &x, digits::LABEL) {
        Some((before, after)) => defmt::println!(
            "fine-tuning: 1 SGD step of the head, loss {=f32} -> {=f32}",
            before,
            after
        ),
        None => defmt::println!("fine-tuning: sample refused"),
    }
    defmt::println!(
        "RAM (compile time): inference {=usize} bytes of buffers, fine-tuning {=usize} bytes; {=usize} bytes of weights in flash",
        INFERENCE.buffers,
        FINE_TUNE.ram(),
        FINE_TUNE.frozen
    );

    loop {
        let _ = led.toggle();
        delay.delay_ms(500);
    }
}
