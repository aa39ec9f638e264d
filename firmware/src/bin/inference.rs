//! Inference of the digits model on the test split, for any core: on the Cortex-M0
//! (micro:bit, soft float) it shows the core needs no FPU, and its outputs hash equals the
//! Cortex-M4F's and the host's.
#![no_std]
#![no_main]

use neurite_firmware::{parity, target};

neurite_firmware::exit_on_hardfault!();

#[cortex_m_rt::entry]
fn main() -> ! {
    let (digits, correct) = parity::digits_inference();
    let n = neurite_firmware::digits::TEST_ROWS.len();
    defmt::println!("parity digits {=u64:#018x} correct {=usize}", digits, correct);
    defmt::println!("inference: accuracy {=usize}/{=usize}", correct, n);
    target::exit(correct * 100 >= 97 * n)
}
