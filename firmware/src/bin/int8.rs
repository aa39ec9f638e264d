//! Int8 models on a Cortex-M4F (QEMU mps2-an386): the digits MLP and CNN that `neurite
//! quantize` made of `tests/litert/neurite_mlp.neurite` and `neurite_cnn.neurite`, exported
//! by `neurite export --rust` with their layers packed for the DSP kernels
//! (`src/int8_mlp_model.rs`, `src/int8_cnn_model.rs`, in flash). Each model's outputs on the
//! 80 inputs LiteRT ran (`src/int8_*_vectors.rs`) must be LiteRT's, byte for byte; then the
//! 360 test rows from their raw pixels (standardised and quantised on the device), the
//! instructions per inference and the stack.
#![no_std]
#![no_main]

use neurite_firmware::digits::{LABELS, PIXELS, TEST_ROWS};
use neurite_firmware::target::{self, InstructionCounter};

neurite_firmware::exit_on_hardfault!();

/// Runs one exported model (`$model`, its vectors `$vectors`); `true` when every output is
/// LiteRT's.
macro_rules! check {
    ($counter:expr, $label:literal, $model:ident, $vectors:ident) => {{
        use neurite_firmware::$model::{self as model, Scratch, INPUTS, MACS, OUTPUTS, SCRATCH};
        use neurite_firmware::$vectors::{INPUTS as VECTORS, LITERT};
        #[inline(never)]
        fn infer(x: &[i8; INPUTS], scratch: &mut Scratch) -> [i8; OUTPUTS] {
            let mut y = [0i8; OUTPUTS];
            model::run(x, scratch, &mut y);
            y
        }
        let mut scratch = Scratch([0; SCRATCH]);
        let same = VECTORS.iter().zip(&LITERT).filter(|(x, want)| infer(x, &mut scratch) == **want);
        let same = same.count();
        defmt::println!(
            "int8 {=str}: {=usize} of {=usize} outputs equal LiteRT's",
            $label,
            same,
            LITERT.len()
        );
        let mut right = 0usize;
        let mut x = [0i8; INPUTS];
        for &row in TEST_ROWS.iter() {
            let pixels = &PIXELS[usize::from(row)];
            let raw: [f32; INPUTS] = core::array::from_fn(|k| f32::from(pixels[k]));
            model::quantize(&raw, &mut x);
            let y = infer(&x, &mut scratch).map(f32::from);
            right += usize::from(
                neurite::kernel::reduce::argmax(&y) == usize::from(LABELS[usize::from(row)]),
            );
        }
        defmt::println!(
            "int8 {=str} test accuracy: {=usize} of {=usize} rows",
            $label,
            right,
            TEST_ROWS.len()
        );
        let x = VECTORS[0];
        let mut y = [0i8; OUTPUTS];
        let instructions = $counter.measure(|| model::run(&x, &mut scratch, &mut y));
        let (whole, hundredths) = target::per(instructions, MACS as u32);
        defmt::println!(
            "int8 {=str} inference: {=u32} instructions, {=u32}.{=u32:02} per MAC ({=usize} MACs); flash {=usize} bytes of packed layers",
            $label,
            instructions,
            whole,
            hundredths,
            MACS,
            model::FLASH_BYTES
        );
        let stack = target::stack_used_by(|| y = infer(&x, &mut scratch));
        defmt::println!("int8 {=str} inference stack: {=usize} bytes", $label, stack);
        same == LITERT.len()
    }};
}

#[cortex_m_rt::entry]
fn main() -> ! {
    let cp = cortex_m::Peripherals::take().unwrap_or_else(|| target::exit(false));
    let mut counter = InstructionCounter::new(cp.SYST);
    let mlp = check!(counter, "mlp", int8_mlp_model, int8_mlp_vectors);
    let cnn = check!(counter, "cnn", int8_cnn_model, int8_cnn_vectors);
    target::exit(mlp && cnn)
}
