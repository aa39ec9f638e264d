//! neurite on the STM32F411CEU6 "Black Pill" (WeAct, Cortex-M4F at 100 MHz from its 25 MHz
//! crystal): the digits model exported by the host (`firmware/src/model.rs`) classifies a
//! fixed sample, then its last layer takes one fine-tuning SGD step; the results go out as
//! defmt over RTT (SWD probe, e.g. an ST-Link), and the LED on PC13 blinks as a heartbeat.
//! `cargo run --release` with the board attached (see boards/README.md).
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use defmt_rtt as _;
use embedded_hal::delay::DelayNs;
use panic_probe as _;
use stm32f4xx_hal::gpio::PinState;
use stm32f4xx_hal::pac;
use stm32f4xx_hal::prelude::*;
use stm32f4xx_hal::rcc::Config;

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

/// RAM of the STM32F411 (memory.x).
const RAM: usize = 128 * 1024;
const _: () = assert!(board::budgets_fit(RAM), "the RAM budgets must leave half the RAM");

#[entry]
fn main() -> ! {
    // cortex-m-rt makes these `&'static mut`, taken once: the head, its gradients and the
    // optimiser live in .data/.bss, so the linker counts them
    static mut MODEL: Tuned = digits::tuned();
    static mut TRAINER: Trainer<Head> = Trainer::new();
    static mut OPT: HeadOptimizer = digits::OPTIMIZER;

    let (Some(dp), Some(cp)) = (pac::Peripherals::take(), pac::CorePeripherals::take()) else {
        panic!("peripherals taken twice");
    };
    // 100 MHz (the F411's maximum) from the Black Pill's 25 MHz crystal
    let mut rcc = dp.RCC.freeze(Config::hse(25.MHz()).sysclk(100.MHz()));
    let mut delay = cp.SYST.delay(&rcc.clocks);
    let gpioc = dp.GPIOC.split(&mut rcc);
    let mut led = gpioc.pc13.into_push_pull_output_in_state(PinState::High); // active low
    led.toggle();
    board::run("STM32F411 Black Pill", MODEL, TRAINER, OPT);

    loop {
        led.toggle();
        delay.delay_ms(500);
    }
}
