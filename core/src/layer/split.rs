//! A chain split after its first `K` layers, so that the tail can be fine-tuned behind the
//! frozen head of the same model without writing either part's type.
//!
//! For `Model = Seq![A, B, C, D]`, `<Model as Split<2>>::Tail` is `Seq![C, D]` and
//! [`FirstLayers<'_, Model, 2>`] runs `A` then `B` from a borrowed model (in flash on an
//! MCU). [`crate::layer::FineTune::after`] builds the fine-tuning from them:
//!
//! ```
//! use neurite::prelude::*;
//! use neurite::layer::{FineTuneAfter, Split};
//! type Model = neurite::Seq![Dense<4, 8>, Relu<8>, Dense<8, 8>, Relu<8>, Dense<8, 3>];
//! let mut model = Model::DEFAULT;
//! model.init(&LayerInit::XAVIER, &mut Rng::new(1));
//! // the last dense layer trained, the first four layers frozen
//! let tuned: FineTuneAfter<'_, Model, 4> = FineTune::after(&model);
//! let _: &Dense<8, 3> = &tuned.head; // the tail's type, derived
//! let (mut y, mut reference) = ([0.0; 3], [0.0; 3]);
//! tuned.forward(&[0.5, -1.0, 2.0, 0.25], &mut y);
//! model.forward(&[0.5, -1.0, 2.0, 0.25], &mut reference);
//! assert_eq!(y, reference);
//! ```
//!
//! `K` runs from 1 to 12 (one impl per `K`: stable Rust cannot count down a const generic);
//! the tail is what follows the `K`-th layer of the chain, so `K` must be below the chain's
//! length (`Split<4>` of a 4-layer chain does not compile: its tail would be empty).

use super::{copy_flat, Infer, Layer, LayerDesc};
use crate::params::{Vector, Zeroed};

/// A chain `Seq![L1, ..., Ln]` seen as its first `K` layers and the rest (`K < n`).
pub trait Split<const K: usize>: Infer {
    /// The output of the first `K` layers: the tail's input.
    type Features: Vector;
    /// The layers after the first `K` (a chain, or the last layer alone).
    type Tail: Layer<Input = Self::Features, Output = Self::Output>;

    /// Runs the first `K` layers: `features = L_K(...L_1(x))`, bit-identical to the same
    /// layers in [`Infer::forward`].
    fn forward_first(&self, x: &Self::Input, features: &mut Self::Features);

    /// Describes the first `K` layers, first to last.
    fn describe_first(&self, f: &mut dyn FnMut(LayerDesc));

    /// The layers after the first `K`.
    fn tail(&self) -> &Self::Tail;
}

/// `K = 1`: the first layer of the pair, and the rest.
impl<A: Infer, B: Layer<Input = A::Output>> Split<1> for (A, B) {
    type Features = A::Output;
    type Tail = B;

    fn forward_first(&self, x: &A::Input, features: &mut A::Output) {
        self.0.forward(x, features);
    }

    fn describe_first(&self, f: &mut dyn FnMut(LayerDesc)) {
        self.0.describe(f);
    }

    fn tail(&self) -> &B {
        &self.1
    }
}

/// `Split<K>` of `(A, R)` is A followed by `Split<K - 1>` of R.
macro_rules! split_after_first {
    ($($k:literal => $rest:literal),+ $(,)?) => {$(
        impl<A: Infer, R: Split<$rest, Input = A::Output>> Split<$k> for (A, R) {
            type Features = R::Features;
            type Tail = R::Tail;

            fn forward_first(&self, x: &A::Input, features: &mut R::Features) {
                let mut mid = A::Output::ZEROED;
                self.0.forward(x, &mut mid);
                self.1.forward_first(&mid, features);
            }

            fn describe_first(&self, f: &mut dyn FnMut(LayerDesc)) {
                self.0.describe(f);
                self.1.describe_first(f);
            }

            fn tail(&self) -> &R::Tail {
                self.1.tail()
            }
        }
    )+};
}

split_after_first!(2 => 1, 3 => 2, 4 => 3, 5 => 4, 6 => 5, 7 => 6, 8 => 7, 9 => 8, 10 => 9, 11 => 10, 12 => 11);

/// The first `K` layers of a borrowed chain `M`, run as one frozen, inference-only model
/// (the frozen part of [`crate::layer::FineTune::after`]): `Input` is the chain's,
/// `Output` the `K`-th layer's.
#[derive(Debug)]
pub struct FirstLayers<'a, M, const K: usize>(pub &'a M);

impl<M, const K: usize> Clone for FirstLayers<'_, M, K> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M, const K: usize> Copy for FirstLayers<'_, M, K> {}

impl<M: Split<K>, const K: usize> Infer for FirstLayers<'_, M, K> {
    type Input = M::Input;
    type Output = M::Features;

    fn forward(&self, x: &M::Input, y: &mut M::Features) {
        self.0.forward_first(x, y);
    }

    /// Through [`Infer::forward`] on the stack, as a chain.
    fn forward_flat(&self, x: &[f32], y: &mut [f32]) {
        let mut input = M::Input::ZEROED;
        copy_flat(x, input.as_mut_slice());
        let mut output = M::Features::ZEROED;
        self.forward(&input, &mut output);
        copy_flat(output.as_slice(), y);
    }

    fn describe(&self, f: &mut dyn FnMut(LayerDesc)) {
        self.0.describe_first(f);
    }
}
