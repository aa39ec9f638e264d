//! On-device fine-tuning: the model's first layers stay frozen in flash while a copy of its
//! last layer learns from new labelled samples (SGD with momentum), and what it learnt is
//! saved as a model file (the format the desktop reads) and read back. No allocation; the
//! RAM of the fine-tuning is computed at compile time.
//!
//! Desktop: `cargo run -p neurite --example fine_tune`. Microcontroller:
//! `cargo build -p neurite --example fine_tune --target thumbv7em-none-eabihf`.
#![cfg_attr(target_os = "none", no_std, no_main)]

mod common;

use neurite::footprint::{self, Footprint};
use neurite::layer::{Act, Dense, FineTune, FineTuneAfter, Layer, Split};
use neurite::loss::{CrossEntropy, Reduction, Target};
use neurite::model_file::{load_typed, save_typed, Task};
use neurite::optim::{valid, SgdConfig, SgdMomentum};
use neurite::prelude::{Error, Trainer};

type Model = neurite::Seq![Dense<2, 3>, Act<neurite::activation::Tanh, 3>, Dense<3, 2>];

/// A model trained elsewhere: its last layer puts every sample in class 0.
static MODEL: Model = (
    Dense::new([[1.0, 0.0], [0.0, 1.0], [0.7, -0.7]], [0.0, 0.0, 0.0]),
    (
        Act::new(neurite::activation::Tanh),
        Dense::new([[0.1, 0.1, 0.0], [-0.1, -0.1, 0.0]], [0.5, -0.5]),
    ),
);

/// The first two layers stay frozen; the head is derived: `Dense<3, 2>`.
const FROZEN_LAYERS: usize = 2;
type Head = <Model as Split<FROZEN_LAYERS>>::Tail;
type Opt = SgdMomentum<<Head as Layer>::Grads>;
const SGD: SgdConfig = SgdConfig { momentum: 0.9, ..SgdConfig::new(0.2) };
const _: Opt = valid!(Opt::new(SGD));
const RAM: Footprint = footprint::fine_tuning_after::<Model, FROZEN_LAYERS, Opt>();
const _: () = assert!(RAM.ram() <= 512, "fine-tuning exceeds its RAM budget");

/// The device's own labelled samples: class 1 when `x0 > x1`.
const SAMPLES: [([f32; 2], usize); 4] =
    [([1.0, -1.0], 1), ([-1.0, 1.0], 0), ([0.5, -0.5], 1), ([-0.2, 0.6], 0)];

/// What one run reports.
#[allow(dead_code)] // read through `Debug` on the desktop
#[derive(Debug)]
struct Outcome {
    first_loss: f32,
    last_loss: f32,
    model_file_bytes: usize,
    read_back_equal: bool,
}

fn run() -> Result<Outcome, Error> {
    let mut tuned: FineTuneAfter<'static, Model, FROZEN_LAYERS> = FineTune::after(&MODEL);
    let mut trainer = Trainer::<Head>::new();
    let mut opt = Opt::new(SGD)?;
    let ce = CrossEntropy::default();
    let mut losses = [0.0f32; 30];
    for loss in &mut losses {
        trainer.begin();
        for (x, label) in &SAMPLES {
            tuned.accumulate(&mut trainer, &ce, x, Target::Class(*label))?;
        }
        *loss = trainer.finish(&ce, Reduction::Mean)?.0;
        tuned.step(&mut opt, &trainer);
    }
    let mut file = [0u8; 256];
    let n = save_typed(&tuned.head, Task::Classification, &mut file)?;
    let back: Head = load_typed(&file[..n])?;
    Ok(Outcome {
        first_loss: losses[0],
        last_loss: losses[losses.len() - 1],
        model_file_bytes: n,
        read_back_equal: back == tuned.head,
    })
}

example_main!(run);

#[cfg(test)]
mod tests {
    #[test]
    fn the_head_learns_and_is_saved() {
        let o = super::run().unwrap();
        assert!(o.last_loss < 0.25 * o.first_loss, "{o:?}");
        assert!(o.read_back_equal);
    }
}
