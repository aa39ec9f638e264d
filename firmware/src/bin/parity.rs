//! Prints the parity runs' hashes: seeded Adam and SGD training of a small MLP, and the
//! digits model's outputs. The host test compares them with its own (x86-64) values.
#![no_std]
#![no_main]

use neurite_firmware::parity;
use neurite_firmware::target;

neurite_firmware::exit_on_hardfault!();

#[cortex_m_rt::entry]
fn main() -> ! {
    let (adam, adam_loss) = parity::adam_run(parity::ADAM_STEPS);
    let (sgd, sgd_loss) = parity::sgd_run(parity::SGD_EPOCHS);
    let (digits, correct) = parity::digits_inference();
    defmt::println!("parity adam {=u64:#018x} loss {=f32}", adam, adam_loss);
    defmt::println!("parity sgd {=u64:#018x} loss {=f32}", sgd, sgd_loss);
    defmt::println!("parity digits {=u64:#018x} correct {=usize}", digits, correct);
    target::exit(true)
}
