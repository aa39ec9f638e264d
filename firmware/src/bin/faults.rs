//! Faults on purpose (a read from an address no memory answers): the HardFault handler
//! (`exit_on_hardfault!`) must report it and exit QEMU with status 1
//! (`tests/tests/firmware_qemu.rs` checks both).
#![no_std]
#![no_main]

use neurite_firmware::target;

neurite_firmware::exit_on_hardfault!();

#[cortex_m_rt::entry]
fn main() -> ! {
    let address = core::hint::black_box(0xF000_0000usize);
    defmt::println!("reading {=usize:#x}", address);
    // SAFETY: deliberately invalid: the bus fault escalates to a HardFault, which exits.
    let v = unsafe { core::ptr::read_volatile(address as *const u32) };
    defmt::println!("not reached: {=u32}", v);
    target::exit(true)
}
