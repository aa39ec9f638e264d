//! Memory at compile time: every byte a model needs is the `size_of` of a type, computed by
//! `const fn`s here (usable in `const _: () = assert!(...)` budgets in firmware).

use crate::layer::Layer;
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

/// Inference with model `L`: parameters, input and output.
pub const fn inference<L: Layer>() -> Footprint {
    Footprint {
        params: size_of::<L>(),
        frozen: 0,
        grads: 0,
        optimizer: 0,
        trace: 0,
        buffers: size_of::<L::Input>() + size_of::<L::Output>(),
    }
}

/// Training model `L` with optimiser `O` (e.g. `Adam<L::Grads>`), one sample at a time.
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

/// Fine-tuning head `H` with optimiser `O` behind a frozen prefix `P` read in place.
pub const fn fine_tuning<P: Layer, H: Layer, O>() -> Footprint {
    let head = training::<H, O>();
    Footprint { frozen: size_of::<P>(), buffers: head.buffers + size_of::<P::Input>(), ..head }
}
