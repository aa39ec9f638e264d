use neurite::optim::{adagrad, adam, clip_factor, global_norm, rmsprop, sgd};
use neurite::optim::{AdagradConfig, AdamConfig, RmsPropConfig, SgdConfig};
use neurite::Error;

/// An optimiser named at run time, with state for every tensor of a model.
#[derive(Clone, Debug, PartialEq)]
pub enum DynOptimizer {
    /// SGD (momentum, Nesterov, weight decay).
    Sgd(SgdConfig),
    /// AdaGrad.
    Adagrad(AdagradConfig),
    /// RMSprop (momentum, centred).
    RmsProp(RmsPropConfig),
    /// Adam or AdamW, and an AMSGrad flag: AMSGrad runs when the flag or `config.amsgrad` is
    /// set (the typed [`neurite::optim::Adam`] reads `config.amsgrad` alone).
    Adam(AdamConfig, bool),
}

/// An optimiser with its state.
#[derive(Clone, Debug, PartialEq)]
pub struct DynOptimizerState {
    /// The optimiser.
    pub kind: DynOptimizer,
    /// Steps taken.
    pub steps: u32,
    slots: Vec<[Vec<f32>; 3]>,
}

impl DynOptimizer {
    /// The learning rate.
    pub fn lr(&self) -> f32 {
        match self {
            Self::Sgd(c) => c.lr,
            Self::Adagrad(c) => c.lr,
            Self::RmsProp(c) => c.lr,
            Self::Adam(c, _) => c.lr,
        }
    }

    /// The same optimiser with learning rate `lr`.
    pub fn with_lr(&self, lr: f32) -> Self {
        let mut o = self.clone();
        match &mut o {
            Self::Sgd(c) => c.lr = lr,
            Self::Adagrad(c) => c.lr = lr,
            Self::RmsProp(c) => c.lr = lr,
            Self::Adam(c, _) => c.lr = lr,
        }
        o
    }

    /// [`DynOptimizer::build`] for the tensors of `model`.
    pub fn build_for(self, model: &super::DynModel) -> Result<DynOptimizerState, Error> {
        let lens: Vec<usize> = model.tensors().iter().map(|t| t.len()).collect();
        self.build(&lens)
    }

    /// Checks hyper-parameters and allocates state shaped like `tensor_lens`.
    pub fn build(self, tensor_lens: &[usize]) -> Result<DynOptimizerState, Error> {
        match &self {
            Self::Sgd(c) => c.validate()?,
            Self::Adagrad(c) => c.validate()?,
            Self::RmsProp(c) => c.validate()?,
            Self::Adam(c, _) => c.validate()?,
        }
        let init = match &self {
            Self::Adagrad(c) => c.initial_accumulator_value,
            _ => 0.0,
        };
        let slots =
            tensor_lens.iter().map(|&n| [vec![init; n], vec![0.0; n], vec![0.0; n]]).collect();
        Ok(DynOptimizerState { kind: self, steps: 0, slots })
    }
}

impl DynOptimizerState {
    /// The learning rate.
    pub fn lr(&self) -> f32 {
        self.kind.lr()
    }

    /// Sets the learning rate (schedules).
    pub fn set_lr(&mut self, lr: f32) {
        match &mut self.kind {
            DynOptimizer::Sgd(c) => c.lr = lr,
            DynOptimizer::Adagrad(c) => c.lr = lr,
            DynOptimizer::RmsProp(c) => c.lr = lr,
            DynOptimizer::Adam(c, _) => c.lr = lr,
        }
    }

    /// The state of each tensor: three slots of its length (which hold what depends on the
    /// optimiser: `host/src/gpu/shaders/optim.wgsl` lists them).
    pub fn slots(&self) -> &[[Vec<f32>; 3]] {
        &self.slots
    }

    /// The state, mutable (copied back from a GPU).
    pub fn slots_mut(&mut self) -> &mut [[Vec<f32>; 3]] {
        &mut self.slots
    }

    /// One update of every tensor, with the same kernels as the typed optimisers.
    pub fn step(&mut self, params: &mut [&mut [f32]], grads: &[Vec<f32>]) {
        let first = self.steps == 0;
        self.steps = self.steps.saturating_add(1);
        // Adam's bias corrections: once per step, at its first tensor
        let mut adam_step = None;
        for ((p, g), [s0, s1, s2]) in params.iter_mut().zip(grads).zip(&mut self.slots) {
            match &self.kind {
                DynOptimizer::Sgd(c) => sgd::update(c, first, p, g, Some(s0)),
                DynOptimizer::Adagrad(c) => adagrad::update(c, self.steps, p, g, s0),
                DynOptimizer::RmsProp(c) => rmsprop::update(c, p, g, s0, Some(s1), Some(s2)),
                DynOptimizer::Adam(c, ams) => {
                    let s = *adam_step.get_or_insert_with(|| adam::AdamStep::new(c, self.steps));
                    let v_max = if *ams || c.amsgrad { Some(s2.as_mut_slice()) } else { None };
                    super::simd::adam(c, &s, p, g, s0, s1, v_max);
                }
            }
        }
    }
}

/// `clip_grad_norm_` over runtime tensors (same arithmetic as `neurite::optim::clip_grad_norm`).
pub fn clip_grad_norm(grads: &mut [Vec<f32>], max_norm: f32) -> f32 {
    let total = global_norm(grads.iter().map(Vec::as_slice));
    let f = clip_factor(total, max_norm);
    if f < 1.0 {
        for g in grads.iter_mut() {
            neurite::kernel::reduce::scale(g, f);
        }
    }
    total
}
