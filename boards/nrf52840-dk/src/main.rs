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
#[path = "../../common/board.rs"]
mod board;
#[path = "../../common/digits.rs"]
mod digits;

use digits::{Head, HeadOptimizer, Tuned};
use neurite::prelude::Trainer;

/// RAM of the nRF52840 (memory.x).
const RAM: usize = 256 * 1024;
const _: () = assert!(board::budgets_fit(RAM), "the RAM budgets must leave half the RAM");

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
    let _ = led.toggle();
    board::run("nRF52840 DK", MODEL, TRAINER, OPT);

    loop {
        let _ = led.toggle();
        delay.delay_ms(500);
    }
}
