//! Skeleton firmware: trains a 2-4-1 MLP on XOR on the device with the core's allocation-free
//! trainer, prints the result over semihosting and exits 0 on success.
//! The firmware issue replaces this with the digits demo, sensors and flash persistence.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use neurite::footprint::{training, Footprint};
use neurite::layer::{Dense, Layer, Sigmoid, Tanh};
use neurite::loss::{Bce, Reduction};
use neurite::optim::{Adam, AdamConfig};
use neurite::prelude::{LayerInit, Rng, Trainer};
use neurite::train::train_epoch;
use panic_semihosting as _;

type Mlp = neurite::Seq![Dense<2, 4>, Tanh<4>, Dense<4, 1>, Sigmoid<1>];
type Opt = Adam<<Mlp as Layer>::Grads>;

/// RAM this demo may use for model, gradients, optimiser and trace.
const RAM_BUDGET: usize = 1024;
const FOOTPRINT: Footprint = training::<Mlp, Opt>();
const _: () = assert!(FOOTPRINT.ram() <= RAM_BUDGET, "XOR MLP + Adam exceed the RAM budget");

const XS: [[f32; 2]; 4] = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
const YS: [[f32; 1]; 4] = [[0.0], [1.0], [1.0], [0.0]];

#[entry]
fn main() -> ! {
    let mut model = Mlp::DEFAULT;
    model.init(&LayerInit::XAVIER, &mut Rng::new(2));
    let mut opt = Opt::new(AdamConfig::adam(0.05));
    let mut trainer = Trainer::<Mlp>::new();
    let mut order = [0usize; 4];
    let mut loss = f32::NAN;
    for _ in 0..500 {
        match train_epoch(
            &mut model,
            &mut opt,
            &mut trainer,
            &Bce,
            Reduction::Mean,
            &XS,
            &YS,
            4,
            &mut order,
            None,
        ) {
            Ok(l) => loss = l,
            Err(_) => debug::exit(debug::EXIT_FAILURE),
        }
    }
    let mut correct = 0;
    for (x, y) in XS.iter().zip(&YS) {
        let mut out = [0.0];
        model.forward(x, &mut out);
        correct += usize::from((out[0] > 0.5) == (y[0] > 0.5));
    }
    hprintln!("xor: loss {} after 500 epochs, {}/4 correct", loss, correct);
    hprintln!("ram: {} bytes (budget {})", FOOTPRINT.ram(), RAM_BUDGET);
    debug::exit(if correct == 4 { debug::EXIT_SUCCESS } else { debug::EXIT_FAILURE });
    // Only reached if the debugger ignores the exit request.
    loop {
        cortex_m::asm::wfi();
    }
}
