//! Panics on purpose: the panic handler (`src/target.rs`) must report it and exit QEMU with
//! status 1 (`tests/tests/firmware_qemu.rs` checks both).
#![no_std]
#![no_main]

use neurite_firmware::target;

neurite_firmware::exit_on_hardfault!();

#[cortex_m_rt::entry]
fn main() -> ! {
    let divisor = core::hint::black_box(0u32);
    defmt::println!("dividing by {=u32}", divisor);
    let q = core::hint::black_box(7u32) / divisor;
    defmt::println!("not reached: {=u32}", q);
    target::exit(true)
}
