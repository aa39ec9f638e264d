//! Deep Q-learning (Mnih et al. 2015): a Q-network `M` mapping an `S`-value observation to
//! `A` action values, a target network (a copy refreshed every `target_every` steps),
//! experience replay (`ReplayBuffer<N, S>`), epsilon-greedy exploration decaying linearly.
//!
//! Each training step draws `batch` transitions, sets the target of the action taken to
//! `r + gamma max_a' Q_target(s', a')` (just `r` at a terminal step) and every other output
//! to the network's own value (so only the taken action's error has a gradient), and takes
//! one optimiser step on the Huber loss (PyTorch's `SmoothL1Loss`, DQN's usual choice),
//! mean over the batch. Everything is in fixed-size buffers: the agent fits a
//! microcontroller's RAM known at compile time, and trains to the same bits there.

use super::replay::{ReplayBuffer, Transition};
use crate::error::Error;
use crate::layer::Layer;
use crate::loss::{Huber, Reduction, Target};
use crate::optim::Optimizer;
use crate::rng::Rng;
use crate::train::Trainer;

/// The agent's hyper-parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DqnConfig {
    /// Discount factor.
    pub gamma: f32,
    /// Exploration rate at the start, and after `epsilon_steps` environment steps.
    pub epsilon: (f32, f32),
    /// Environment steps over which epsilon decays linearly.
    pub epsilon_steps: u32,
    /// Transitions per training step.
    pub batch: usize,
    /// Environment steps before training starts (the buffer fills with exploration).
    pub warmup: usize,
    /// Training steps between target-network refreshes.
    pub target_every: u32,
}

impl DqnConfig {
    /// The cart-pole recipe this project's tests and examples use.
    pub const CARTPOLE: Self = Self {
        gamma: 0.99,
        epsilon: (1.0, 0.02),
        epsilon_steps: 10_000,
        batch: 32,
        warmup: 1_000,
        target_every: 250,
    };
}

/// A DQN agent: Q-network `M` (input `[f32; S]`, output `[f32; A]`), optimiser `O`, replay
/// buffer of `N` transitions.
pub struct Dqn<M: Layer, O, const N: usize, const S: usize> {
    /// The Q-network being trained.
    pub q: M,
    /// The target network.
    pub target: M,
    /// Its optimiser.
    pub opt: O,
    /// Hyper-parameters.
    pub config: DqnConfig,
    /// Experience.
    pub replay: ReplayBuffer<N, S>,
    trainer: Trainer<M>,
    /// Environment steps observed.
    pub steps: u32,
    /// Training steps taken.
    pub updates: u32,
}

impl<M, O, const N: usize, const S: usize, const A: usize> Dqn<M, O, N, S>
where
    M: Layer<Input = [f32; S], Output = [f32; A]> + Clone,
    O: Optimizer<M::Grads>,
{
    /// An agent whose Q-network starts as `q` (the target a copy of it).
    pub fn new(q: M, opt: O, config: DqnConfig) -> Self {
        Self {
            target: q.clone(),
            q,
            opt,
            config,
            replay: ReplayBuffer::new(),
            trainer: Trainer::new(),
            steps: 0,
            updates: 0,
        }
    }

    /// The exploration rate now.
    pub fn epsilon(&self) -> f32 {
        let (start, end) = self.config.epsilon;
        let t = (self.steps as f32 / self.config.epsilon_steps.max(1) as f32).min(1.0);
        start + (end - start) * t
    }

    /// The greedy action: the largest Q-value (the first of equal ones).
    pub fn greedy(&self, state: &[f32; S]) -> usize {
        let mut out = [0.0; A];
        self.q.forward(state, &mut out);
        crate::kernel::reduce::argmax(&out)
    }

    /// Epsilon-greedy: a uniform random action with probability [`Dqn::epsilon`] (one
    /// `rng.uniform` draw, then one `rng.below` if exploring), else the greedy one.
    pub fn act(&self, state: &[f32; S], rng: &mut Rng) -> usize {
        if rng.uniform() < self.epsilon() {
            rng.below(A)
        } else {
            self.greedy(state)
        }
    }

    /// Records a transition and, after the warm-up, takes one training step; returns the
    /// step's batch loss, if one was taken.
    pub fn observe(&mut self, t: Transition<S>, rng: &mut Rng) -> Result<Option<f32>, Error> {
        self.replay.push(t);
        self.steps = self.steps.saturating_add(1);
        if self.replay.len() < self.config.warmup.max(self.config.batch) {
            return Ok(None);
        }
        self.train_step(rng).map(Some)
    }

    /// One training step on `config.batch` transitions drawn from the replay buffer.
    pub fn train_step(&mut self, rng: &mut Rng) -> Result<f32, Error> {
        let loss = Huber { delta: 1.0 };
        self.trainer.begin();
        for _ in 0..self.config.batch {
            let Some(t) = self.replay.sample(rng).copied() else {
                return Err(Error::Empty);
            };
            let mut next = [0.0; A];
            self.target.forward(&t.next, &mut next);
            let best = next.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let y = if t.done { t.reward } else { t.reward + self.config.gamma * best };
            let mut wanted = [0.0; A];
            self.q.forward(&t.state, &mut wanted);
            wanted[usize::from(t.action).min(A - 1)] = y;
            self.trainer.accumulate(&self.q, &loss, &t.state, Target::Values(&wanted))?;
        }
        let (value, _) = self.trainer.finish(&loss, Reduction::Mean)?;
        self.opt.step(&mut self.q, &self.trainer.grads);
        self.updates = self.updates.saturating_add(1);
        if self.updates.is_multiple_of(self.config.target_every.max(1)) {
            self.target = self.q.clone();
        }
        Ok(value)
    }
}

impl<M, O, const N: usize> Dqn<M, O, N, 4>
where
    M: Layer<Input = [f32; 4], Output = [f32; 2]> + Clone,
    O: Optimizer<M::Grads>,
{
    /// One cart-pole episode from a reset drawn from `rng`, acting epsilon-greedily and
    /// learning from every step ([`Dqn::observe`]); returns the episode's return.
    pub fn train_cartpole_episode(&mut self, rng: &mut Rng) -> Result<f32, Error> {
        let mut env = super::CartPole::reset(rng);
        let mut total = 0.0;
        loop {
            let state = env.state;
            let action = self.act(&state, rng);
            let r = env.step(action);
            total += r.reward;
            let done = r.terminated;
            self.observe(
                Transition { state, action: action as u8, reward: r.reward, next: r.state, done },
                rng,
            )?;
            if r.terminated || r.truncated {
                return Ok(total);
            }
        }
    }

    /// The greedy policy's return on one cart-pole episode from a reset drawn from `rng`
    /// (no learning).
    pub fn cartpole_return(&self, rng: &mut Rng) -> f32 {
        let mut env = super::CartPole::reset(rng);
        let mut total = 0.0;
        loop {
            let r = env.step(self.greedy(&env.state));
            total += r.reward;
            if r.terminated || r.truncated {
                return total;
            }
        }
    }
}

/// Trains `agent` on cart-pole episode after episode until the mean return of the last 100
/// reaches `goal` or `max_steps` environment steps have passed; `on_episode(index, return)`
/// sees each. Returns the episodes run. The loop the example, the test and the firmware share.
pub fn train_cartpole<M, O, const N: usize>(
    agent: &mut Dqn<M, O, N, 4>,
    rng: &mut Rng,
    goal: f32,
    max_steps: u32,
    mut on_episode: impl FnMut(usize, f32),
) -> Result<usize, Error>
where
    M: Layer<Input = [f32; 4], Output = [f32; 2]> + Clone,
    O: Optimizer<M::Grads>,
{
    // the last 100 returns, in a ring
    let mut last = [0.0f32; 100];
    let mut episodes = 0;
    while agent.steps < max_steps {
        let r = agent.train_cartpole_episode(rng)?;
        last[episodes % 100] = r;
        episodes += 1;
        on_episode(episodes, r);
        if episodes >= 100 && last.iter().sum::<f32>() / 100.0 >= goal {
            break;
        }
    }
    Ok(episodes)
}

/// The cart-pole agent of the example, the test and the firmware: a 4-64-64-2 ReLU
/// Q-network (PyTorch's default initialisation), Adam, `N` transitions of replay.
pub type CartPoleQ = crate::Seq![
    crate::layer::Dense<4, 64>,
    crate::layer::Act<crate::activation::Relu, 64>,
    crate::layer::Dense<64, 64>,
    crate::layer::Act<crate::activation::Relu, 64>,
    crate::layer::Dense<64, 2>
];

/// What [`cartpole_run`] reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CartPoleRun {
    /// Training episodes run.
    pub episodes: usize,
    /// Environment steps and training steps taken.
    pub steps: u32,
    /// Training steps taken.
    pub updates: u32,
    /// Mean return of the last 100 training episodes.
    pub last_100: f32,
    /// The greedy policy's mean return over 100 new episodes (resets from `Rng::new(99)`).
    pub greedy: f32,
}

/// The optimiser of [`CartPoleQ`]: Adam.
pub type CartPoleOpt = crate::optim::Adam<<CartPoleQ as Layer>::Grads>;

/// The cart-pole agent with `N` transitions of replay.
pub type CartPoleAgent<const N: usize> = Dqn<CartPoleQ, CartPoleOpt, N, 4>;

/// Replay capacity of the host's run ([`cartpole_run`]): 10,000 transitions (400 KB).
pub const HOST_REPLAY: usize = 10_000;

/// Replay capacity of the device's run ([`cartpole_run_device`]): 2,000 transitions
/// (80 KB), so that the whole agent fits a microcontroller's RAM.
pub const DEVICE_REPLAY: usize = 2_000;

/// A [`CartPoleQ`] agent initialised from `Rng::new(init_seed)` (PyTorch's default
/// initialisation), optimiser `opt` (the runs use Adam at `1e-3`), [`DqnConfig::CARTPOLE`],
/// `N` transitions of replay. Infallible, so the agent is built in its caller's slot: a
/// `Result` around it cost the firmware a second copy on the stack (measured).
pub fn cartpole_agent<const N: usize>(init_seed: u64, opt: CartPoleOpt) -> CartPoleAgent<N> {
    let mut q = CartPoleQ::DEFAULT;
    q.init(&crate::init::LayerInit::TORCH_DEFAULT, &mut Rng::new(init_seed));
    Dqn::new(q, opt, DqnConfig::CARTPOLE)
}

/// Adam at rate `lr`: the runs' optimiser.
pub fn cartpole_adam(lr: f32) -> Result<CartPoleOpt, Error> {
    CartPoleOpt::new(crate::optim::AdamConfig::adam(lr))
}

/// Trains `agent` with [`train_cartpole`] (episodes and exploration from
/// `Rng::new(env_seed)`) to a mean of 195 or `max_steps`, then scores its greedy policy over
/// 100 new episodes (resets from `Rng::new(99)`).
pub fn cartpole_train_and_score<const N: usize>(
    agent: &mut CartPoleAgent<N>,
    env_seed: u64,
    max_steps: u32,
    on_episode: &mut dyn FnMut(usize, f32),
) -> Result<CartPoleRun, Error> {
    let mut rng = Rng::new(env_seed);
    let mut last = [0.0f32; 100];
    let episodes = train_cartpole(agent, &mut rng, 195.0, max_steps, |i, r| {
        last[(i - 1) % 100] = r;
        on_episode(i, r);
    })?;
    let mut eval = Rng::new(99);
    let greedy = (0..100).map(|_| agent.cartpole_return(&mut eval)).sum::<f32>() / 100.0;
    Ok(CartPoleRun {
        episodes,
        steps: agent.steps,
        updates: agent.updates,
        last_100: last.iter().sum::<f32>() / 100.0,
        greedy,
    })
}

/// The host's standard run: [`cartpole_agent`] with [`HOST_REPLAY`] transitions, trained and
/// scored by [`cartpole_train_and_score`]. Not generic, so it is compiled (and optimised) in
/// this crate whoever calls it.
pub fn cartpole_run(
    init_seed: u64,
    env_seed: u64,
    lr: f32,
    max_steps: u32,
    on_episode: &mut dyn FnMut(usize, f32),
) -> Result<CartPoleRun, Error> {
    let mut agent = cartpole_agent::<HOST_REPLAY>(init_seed, cartpole_adam(lr)?);
    cartpole_train_and_score(&mut agent, env_seed, max_steps, on_episode)
}

/// [`cartpole_train_and_score`] for the device's agent ([`DEVICE_REPLAY`] transitions,
/// from [`cartpole_agent`]): what the firmware trains in QEMU, and the host to compare its
/// bits. Not generic, so it is compiled (and optimised) in this crate whoever calls it.
pub fn cartpole_run_device(
    agent: &mut CartPoleAgent<DEVICE_REPLAY>,
    env_seed: u64,
    max_steps: u32,
    on_episode: &mut dyn FnMut(usize, f32),
) -> Result<CartPoleRun, Error> {
    cartpole_train_and_score(agent, env_seed, max_steps, on_episode)
}
