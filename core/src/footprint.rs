//! Memory at compile time: every byte a model needs is the `size_of` of a type, computed by
//! `const fn`s here (usable in `const _: () = assert!(...)` budgets in firmware).

use crate::batch_train::BatchTrainer;
use crate::layer::{BatchLayer, Infer, Layer, Split};
use crate::train::Trainer;
use core::mem::size_of;

/// Bytes needed by a model for one use, by kind of buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Footprint {
    /// Parameters that are trained or read from RAM.
    pub params: usize,
    /// Frozen parameters read in place (flash on an MCU; 0 if none).
    pub frozen: usize,
    /// Gradients.
    pub grads: usize,
    /// Optimiser state (and its hyper-parameters).
    pub optimizer: usize,
    /// Activation trace kept between forward and backward.
    pub trace: usize,
    /// Input and output vectors, the output's gradient and the batch sums.
    pub buffers: usize,
}

impl Footprint {
    /// RAM in bytes: everything but the frozen parameters.
    pub const fn ram(&self) -> usize {
        self.params + self.grads + self.optimizer + self.trace + self.buffers
    }
}

/// Inference with model `L` through [`Infer::forward`]: parameters, input and output (the
/// intermediate outputs are on the stack; see [`inference_reusing`]). `L` needs only
/// [`Infer`] (a frozen or inference-only model).
pub const fn inference<L: Infer>() -> Footprint {
    Footprint {
        params: size_of::<L>(),
        frozen: 0,
        grads: 0,
        optimizer: 0,
        trace: 0,
        buffers: size_of::<L::Input>() + size_of::<L::Output>(),
    }
}

/// Bytes of the two activation buffers of [`Infer::forward_reusing`]:
/// `2 * 4 * L::SCRATCH_WIDTH`, bounded by the widest pair of adjacent activations whatever
/// the depth ([`Infer::forward`] declares every intermediate output on the stack instead: up
/// to their sum, `size_of::<L::Trace>()` for a chain of [`Layer`]s).
pub const fn activation_buffers<L: Infer>() -> usize {
    2 * size_of::<f32>() * L::SCRATCH_WIDTH
}

/// Inference with model `L` through [`Infer::forward_reusing`]: [`inference`]'s figures,
/// with `buffers` adding the two reused activation buffers ([`activation_buffers`]) to the
/// input and output. Every activation is then counted; the stack holds none.
pub const fn inference_reusing<L: Infer>() -> Footprint {
    let f = inference::<L>();
    Footprint { buffers: f.buffers + activation_buffers::<L>(), ..f }
}

/// Training model `L` with optimiser `O` (e.g. `Adam<L::Grads>`), one sample at a time.
/// `buffers` counts the [`Trainer`]'s output, output gradient, batch sums, mode and dropout
/// generator, and one input.
pub const fn training<L: Layer, O>() -> Footprint {
    let trainer = size_of::<Trainer<L>>();
    let grads = size_of::<L::Grads>();
    let trace = size_of::<L::Trace>();
    Footprint {
        params: size_of::<L>(),
        frozen: 0,
        grads,
        optimizer: size_of::<O>(),
        trace,
        buffers: trainer - grads - trace + size_of::<L::Input>(),
    }
}

/// Fine-tuning head `H` with optimiser `O` behind a frozen prefix `P` read in place (`P`
/// needs only [`Infer`]). Checked by the compiler against a budget:
///
/// ```
/// use neurite::footprint::{fine_tuning, inference, training, Footprint};
/// use neurite::optim::{Adam, SgdMomentum};
/// use neurite::prelude::*;
/// type Model = neurite::Seq![Dense<6, 12>, Relu<12>, Dense<12, 12>, Relu<12>, Dense<12, 2>];
/// type Frozen = neurite::Seq![Dense<6, 12>, Relu<12>, Dense<12, 12>, Relu<12>];
/// type Head = Dense<12, 2>;
/// const INFER: Footprint = inference::<Model>();
/// const TRAIN: Footprint = training::<Model, Adam<<Model as Layer>::Grads>>();
/// const TUNE: Footprint = fine_tuning::<Frozen, Head, SgdMomentum<<Head as Layer>::Grads>>();
/// const _: () = assert!(TUNE.ram() <= 1024, "fine-tuning exceeds 1 KB of RAM");
/// assert_eq!(INFER.params, 4 * (6 * 12 + 12 + 12 * 12 + 12 + 12 * 2 + 2)); // bytes of weights
/// assert_eq!(TUNE.frozen + TUNE.params, INFER.params);
/// // Adam: two moments per parameter, plus its configuration and step count
/// assert!(TRAIN.optimizer > 2 * INFER.params && TRAIN.optimizer < 2 * INFER.params + 64);
/// ```
pub const fn fine_tuning<P: Infer, H: Layer, O>() -> Footprint {
    let head = training::<H, O>();
    Footprint { frozen: size_of::<P>(), buffers: head.buffers + size_of::<P::Input>(), ..head }
}

/// Fine-tuning the layers of `M` after its first `K` with optimiser `O`
/// ([`crate::layer::FineTune::after`]): the model stays in flash (`frozen`: its first `K`
/// layers; the rest is there too, as the head's starting point) and the head, a copy of the
/// rest, trains in RAM. The same figures as [`fine_tuning`] with the two parts written out.
///
/// ```
/// use neurite::footprint::{fine_tuning, fine_tuning_after, Footprint};
/// use neurite::prelude::*;
/// type Model = neurite::Seq![Dense<6, 12>, Relu<12>, Dense<12, 2>];
/// type Opt = Sgd<<Dense<12, 2> as Layer>::Grads>;
/// const TUNE: Footprint = fine_tuning_after::<Model, 2, Opt>();
/// assert_eq!(TUNE, fine_tuning::<neurite::Seq![Dense<6, 12>, Relu<12>], Dense<12, 2>, Opt>());
/// ```
pub const fn fine_tuning_after<M: Split<K>, const K: usize, O>() -> Footprint {
    let head = training::<M::Tail, O>();
    Footprint {
        frozen: size_of::<M>() - size_of::<M::Tail>(),
        buffers: head.buffers + size_of::<M::Input>(),
        ..head
    }
}

/// Training model `M` with optimiser `O` over minibatches of `B` samples
/// ([`BatchTrainer`], needed by batch norm in train mode). `trace` is the batch trace
/// (`M::BatchTrace`: `B` of every intermediate output, plus each batch norm's statistics);
/// `buffers` counts the trainer's `B` outputs and `B` output gradients, batch sums, mode and
/// dropout generator, and the `B` inputs; `grads` does not grow with `B`. The parameters,
/// gradients, trace and the trainer's buffers but the inputs add up to
/// `size_of::<M>() + size_of::<BatchTrainer<M, B>>()`.
///
/// Not included: the stack of backward, [`batch_backward_stack`].
pub const fn batch_training<M: BatchLayer<B>, O, const B: usize>() -> Footprint {
    let trainer = size_of::<BatchTrainer<M, B>>();
    let grads = size_of::<M::Grads>();
    let trace = size_of::<M::BatchTrace>();
    Footprint {
        params: size_of::<M>(),
        frozen: 0,
        grads,
        optimizer: size_of::<O>(),
        trace,
        buffers: trainer - grads - trace + size_of::<[M::Input; B]>(),
    }
}

/// Bytes of activation gradients that one batch backward of `M` declares on the stack
/// ([`BatchLayer::BACKWARD_STACK`]: one `[X; B]` per link of a chain, all alive at the
/// deepest point; kernel locals not counted).
pub const fn batch_backward_stack<M: BatchLayer<B>, const B: usize>() -> usize {
    M::BACKWARD_STACK
}
