//! Inference from flash: a trained classifier as a `static` (its weights are in flash, not
//! RAM), a sensor reading standardised as in training, a checked forward that refuses a
//! NaN or infinite reading, and the RAM it needs checked at compile time.
//!
//! Desktop: `cargo run -p neurite --example classify`. Microcontroller (builds a `no_std`
//! binary): `cargo build -p neurite --example classify --target thumbv6m-none-eabi`.
#![cfg_attr(target_os = "none", no_std, no_main)]

mod common;

use neurite::footprint::{self, Footprint};
use neurite::kernel::reduce::argmax;
use neurite::layer::{Act, Dense, Infer};
use neurite::prelude::Error;

/// Two features, two hidden units, two classes: class 1 when `x0 > x1` (weights written
/// out by hand here; `neurite export --rust` writes a trained model's this way).
type Model = neurite::Seq![Dense<2, 2>, Act<neurite::activation::Relu, 2>, Dense<2, 2>];

static MODEL: Model = (
    Dense::new([[1.0, -1.0], [-1.0, 1.0]], [0.0, 0.0]),
    (Act::new(neurite::activation::Relu), Dense::new([[-1.0, 1.0], [1.0, -1.0]], [0.0, 0.0])),
);

/// The training data's feature statistics: the model expects `(x - mean) / std`.
const MEAN: [f32; 2] = [10.0, 10.0];
const STD: [f32; 2] = [2.0, 2.0];

/// RAM of one inference (input and output; the weights stay in flash), at compile time.
const RAM: Footprint = footprint::inference::<Model>();
const _: () = assert!(RAM.ram() <= 64, "inference exceeds its RAM budget");

/// Classifies one raw reading.
fn classify(raw: [f32; 2]) -> Result<usize, Error> {
    let x: [f32; 2] = core::array::from_fn(|i| (raw[i] - MEAN[i]) / STD[i]);
    let mut scores = [0.0; 2];
    MODEL.forward_checked(&x, &mut scores)?;
    Ok(argmax(&scores))
}

/// Three readings: two valid ones and a broken sensor's NaN (through `black_box`, as a
/// sensor's would be: unknown to the compiler).
fn run() -> [Result<usize, Error>; 3] {
    let readings = core::hint::black_box([[14.0, 9.0], [8.0, 12.5], [f32::NAN, 10.0]]);
    readings.map(classify)
}

example_main!(run);

#[cfg(test)]
mod tests {
    #[test]
    fn classifies_and_refuses_a_nan() {
        use neurite::prelude::Error;
        assert_eq!(super::run(), [Ok(1), Ok(0), Err(Error::NonFinite { index: 0 })]);
    }
}
