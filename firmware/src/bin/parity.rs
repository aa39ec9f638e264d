//! Prints the parity runs' hashes: seeded Adam and SGD training of a small MLP, and the
//! digits model's outputs, with the stack each run used. Built for the Cortex-M4F
//! (`thumbv7em-none-eabihf`, QEMU `mps2-an386`) and the Cortex-M0 (`thumbv6m-none-eabi`,
//! QEMU `microbit`, soft float, 16 KB of RAM); `tests/tests/firmware_qemu.rs` runs both and
//! compares the hashes with the host's (x86-64) values.
#![no_std]
#![no_main]

use neurite_firmware::parity;
use neurite_firmware::target;

neurite_firmware::exit_on_hardfault!();

#[cortex_m_rt::entry]
fn main() -> ! {
    let (mut adam, mut sgd, mut digits) = ((0, 0.0), (0, 0.0), (0, 0));
    let adam_stack = target::stack_used_by(|| adam = parity::adam_run(parity::ADAM_STEPS));
    let sgd_stack = target::stack_used_by(|| sgd = parity::sgd_run(parity::SGD_EPOCHS));
    let digits_stack = target::stack_used_by(|| digits = parity::digits_inference());
    defmt::println!("parity adam {=u64:#018x} loss {=f32}", adam.0, adam.1);
    defmt::println!("parity sgd {=u64:#018x} loss {=f32}", sgd.0, sgd.1);
    defmt::println!("parity digits {=u64:#018x} correct {=usize}", digits.0, digits.1);
    defmt::println!(
        "stack: adam run {=usize} bytes, sgd run {=usize} bytes, digits inference {=usize} bytes",
        adam_stack,
        sgd_stack,
        digits_stack
    );
    target::exit(true)
}
