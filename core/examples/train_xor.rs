//! Training from scratch on the device: XOR with a 2-8-1 network, Adam and binary
//! cross-entropy on logits, in shuffled minibatches (`train_epoch`), every buffer a fixed
//! size known at compile time.
//!
//! Desktop: `cargo run -p neurite --example train_xor`. Microcontroller:
//! `cargo build -p neurite --example train_xor --target thumbv6m-none-eabi`.
#![cfg_attr(target_os = "none", no_std, no_main)]

mod common;

use neurite::footprint::{self, Footprint};
use neurite::layer::{Act, Dense, Infer, Layer};
use neurite::loss::{BceWithLogits, Reduction};
use neurite::optim::{Adam, AdamConfig};
use neurite::prelude::{Error, LayerInit, Rng, Trainer};
use neurite::train::train_epoch;

type Model = neurite::Seq![Dense<2, 8>, Act<neurite::activation::Tanh, 8>, Dense<8, 1>];
type Opt = Adam<<Model as Layer>::Grads>;
const RAM: Footprint = footprint::training::<Model, Opt>();
const _: () = assert!(RAM.ram() <= 1024, "training exceeds its RAM budget");

const XS: [[f32; 2]; 4] = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
const YS: [[f32; 1]; 4] = [[0.0], [1.0], [1.0], [0.0]];

/// What one run reports.
#[allow(dead_code)] // read through `Debug` on the desktop
#[derive(Debug)]
struct Outcome {
    first_loss: f32,
    last_loss: f32,
    /// The model's logit for each input: positive is class 1.
    logits: [f32; 4],
}

fn run() -> Result<Outcome, Error> {
    let mut model = Model::DEFAULT;
    model.init(&LayerInit::XAVIER, &mut Rng::new(3));
    let mut opt = Opt::new(AdamConfig::adam(0.05))?;
    let mut trainer = Trainer::<Model>::new();
    let (mut order, mut rng) = ([0usize; 4], Rng::new(4));
    let mut losses = [0.0f32; 300];
    for loss in &mut losses {
        *loss = train_epoch(
            &mut model,
            &mut opt,
            &mut trainer,
            &BceWithLogits::default(),
            Reduction::Mean,
            &XS,
            &YS,
            2,
            &mut order,
            Some(&mut rng),
        )?;
    }
    let logits = XS.map(|x| {
        let mut y = [0.0];
        model.forward(&x, &mut y);
        y[0]
    });
    Ok(Outcome { first_loss: losses[0], last_loss: losses[losses.len() - 1], logits })
}

example_main!(run);

#[cfg(test)]
mod tests {
    #[test]
    fn learns_xor() {
        let o = super::run().unwrap();
        assert!(o.last_loss < 0.05, "{o:?}");
        let classes = o.logits.map(|l| l > 0.0);
        assert_eq!(classes, [false, true, true, false], "{o:?}");
    }
}
