//! neurite on the Raspberry Pi Pico (RP2040, Cortex-M0+ at 125 MHz, no FPU: soft float):
//! the digits model exported by the host (`firmware/src/model.rs`) classifies a fixed sample,
//! then its last layer takes one fine-tuning SGD step; the results go out as defmt over RTT
//! (SWD probe, e.g. the Raspberry Pi Debug Probe or a second Pico), and the LED on GPIO25
//! blinks as a heartbeat. `cargo run --release` with the board attached (see boards/README.md).
#![no_std]
#![no_main]

use defmt_rtt as _;
use embedded_hal::digital::StatefulOutputPin;
use panic_probe as _;
use rp2040_hal::clocks::{init_clocks_and_plls, Clock};
use rp2040_hal::gpio::Pins;
use rp2040_hal::{entry, pac, Sio, Watchdog};

/// The second-stage bootloader, first 256 bytes of flash: sets up the Pico's W25Q16JV QSPI
/// flash for execute-in-place (memory.x places `.boot2`).
#[link_section = ".boot2"]
#[used]
pub static BOOT2: [u8; 256] = rp2040_boot2::BOOT_LOADER_W25Q080;

/// The Pico's crystal.
const XTAL_FREQ_HZ: u32 = 12_000_000;

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

/// RAM of the RP2040 (memory.x: SRAM0-5).
const RAM: usize = 264 * 1024;
const _: () = assert!(board::budgets_fit(RAM), "the RAM budgets must leave half the RAM");

#[entry]
fn main() -> ! {
    // cortex-m-rt makes these `&'static mut`, taken once: the head, its gradients and the
    // optimiser live in .data/.bss, so the linker counts them
    static mut MODEL: Tuned = digits::tuned();
    static mut TRAINER: Trainer<Head> = Trainer::new();
    static mut OPT: HeadOptimizer = digits::OPTIMIZER;

    let (Some(mut p), Some(cp)) = (pac::Peripherals::take(), pac::CorePeripherals::take()) else {
        panic!("peripherals taken twice");
    };
    // the HAL's defaults: 125 MHz system clock, 48 MHz USB clock, from the 12 MHz crystal
    let mut watchdog = Watchdog::new(p.WATCHDOG);
    let Ok(clocks) = init_clocks_and_plls(
        XTAL_FREQ_HZ,
        p.XOSC,
        p.CLOCKS,
        p.PLL_SYS,
        p.PLL_USB,
        &mut p.RESETS,
        &mut watchdog,
    ) else {
        panic!("clock setup failed");
    };
    let mut delay = cortex_m::delay::Delay::new(cp.SYST, clocks.system_clock.freq().to_Hz());
    let sio = Sio::new(p.SIO);
    let pins = Pins::new(p.IO_BANK0, p.PADS_BANK0, sio.gpio_bank0, &mut p.RESETS);
    let mut led = pins.gpio25.into_push_pull_output(); // active high
    let _ = led.toggle();
    board::run("Raspberry Pi Pico (RP2040)", MODEL, TRAINER, OPT);

    loop {
        let _ = led.toggle();
        delay.delay_ms(500);
    }
}
