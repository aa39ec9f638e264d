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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::{Dense, Infer};
    use crate::optim::{Sgd, SgdConfig};
    use crate::rl::CartPole;

    type Q = Dense<4, 2>;
    type Agent = Dqn<Q, Sgd<Q>, 8, 4>;

    /// `Q(s) = [x, -x]` (`x` the cart's position): greedy action 0 when `x > 0`, 1 when
    /// `x < 0`.
    fn agent(config: DqnConfig) -> Agent {
        let q = Q::new([[1.0, 0.0, 0.0, 0.0], [-1.0, 0.0, 0.0, 0.0]], [0.0; 2]);
        Dqn::new(q, Sgd::new(SgdConfig::new(0.1)).expect("sgd"), config)
    }

    /// No training (the warm-up is longer than the buffer) and no exploration.
    const NO_TRAINING: DqnConfig =
        DqnConfig { epsilon: (0.0, 0.0), warmup: 1_000, ..DqnConfig::CARTPOLE };

    #[test]
    fn epsilon_decays_linearly_then_stays() {
        let mut a =
            agent(DqnConfig { epsilon: (1.0, 0.1), epsilon_steps: 10, ..DqnConfig::CARTPOLE });
        for (steps, want) in [(0, 1.0), (5, 0.55), (10, 0.1), (20, 0.1)] {
            a.steps = steps;
            assert!((a.epsilon() - want).abs() < 1e-6, "{steps}: {}", a.epsilon());
        }
    }

    #[test]
    fn acting_is_greedy_or_uniform_with_probability_epsilon() {
        let right = [-0.5, 0.0, 0.0, 0.0];
        let left = [0.5, 0.0, 0.0, 0.0];
        let greedy = agent(DqnConfig { epsilon: (0.0, 0.0), ..DqnConfig::CARTPOLE });
        assert_eq!((greedy.greedy(&right), greedy.greedy(&left)), (1, 0));
        let mut rng = Rng::new(5);
        for _ in 0..50 {
            assert_eq!((greedy.act(&right, &mut rng), greedy.act(&left, &mut rng)), (1, 0));
        }
        // epsilon equal to the draw: the draw is not below it, so no exploration
        for seed in 0..20 {
            let draw = Rng::new(seed).uniform();
            let a = agent(DqnConfig { epsilon: (draw, draw), ..DqnConfig::CARTPOLE });
            assert_eq!(a.act(&left, &mut Rng::new(seed)), 0, "seed {seed}");
        }
        let explore = agent(DqnConfig { epsilon: (1.0, 1.0), ..DqnConfig::CARTPOLE });
        let mut counts = [0; 2];
        for _ in 0..200 {
            counts[explore.act(&left, &mut rng)] += 1;
        }
        assert!(counts[0] > 70 && counts[1] > 70, "{counts:?}");
    }

    /// The loss of one step on copies of one transition: the taken action's target is
    /// `r + gamma max Q_target(s')` (`r` when done), every other output the network's own.
    fn expected_loss(q: &Q, t: &Transition<4>, gamma: f32, batch: usize) -> f32 {
        let loss = Huber { delta: 1.0 };
        let mut next = [0.0; 2];
        q.forward(&t.next, &mut next);
        let y = if t.done { t.reward } else { t.reward + gamma * next[0].max(next[1]) };
        let mut wanted = [0.0; 2];
        q.forward(&t.state, &mut wanted);
        wanted[usize::from(t.action).min(1)] = y;
        let mut trainer = Trainer::<Q>::new();
        trainer.begin();
        for _ in 0..batch {
            trainer.accumulate(q, &loss, &t.state, Target::Values(&wanted)).expect("sample");
        }
        trainer.finish(&loss, Reduction::Mean).expect("batch").0
    }

    #[test]
    fn a_training_step_regresses_on_the_bellman_target() {
        let config =
            DqnConfig { gamma: 0.9, batch: 2, warmup: 3, target_every: 2, ..DqnConfig::CARTPOLE };
        for (action, done) in [(0, false), (1, false), (5, false), (0, true)] {
            let t = Transition {
                state: [0.5, 0.1, -0.2, 0.3],
                action,
                reward: 0.3,
                next: [-0.7, 0.0, 0.1, 0.0],
                done,
            };
            let mut a = agent(config);
            let q0 = a.q.clone();
            let want = expected_loss(&q0, &t, 0.9, 2);
            // the warm-up: no step before 3 transitions
            assert_eq!(a.observe(t, &mut Rng::new(1)), Ok(None));
            assert_eq!(a.observe(t, &mut Rng::new(1)), Ok(None));
            let got = a.observe(t, &mut Rng::new(1)).expect("step").expect("a loss");
            assert!((got - want).abs() <= 1e-7 && want > 0.005, "{action} {done}: {got} vs {want}");
            assert_eq!((a.steps, a.updates), (3, 1));
            // one step changed the network, not yet the target (refreshed every 2 steps)
            assert!(a.q != q0 && a.target == q0);
            a.train_step(&mut Rng::new(2)).expect("step");
            assert!(a.target == a.q && a.q != q0);
        }
        assert_eq!(agent(config).train_step(&mut Rng::new(1)), Err(Error::Empty));
    }

    /// The episode `agent` plays from `rng`'s reset, acting greedily: its length (its return)
    /// and whether it ended by termination.
    fn greedy_episode(a: &Agent, rng: &mut Rng, draws: bool) -> (f32, bool) {
        let mut env = CartPole::reset(rng);
        let mut n = 0.0;
        loop {
            if draws {
                rng.uniform(); // `act`'s exploration draw
            }
            let r = env.step(a.greedy(&env.state));
            n += 1.0;
            if r.terminated || r.truncated {
                return (n, r.terminated);
            }
        }
    }

    #[test]
    fn episodes_return_their_length() {
        let mut a = agent(NO_TRAINING);
        let (want, terminated) = greedy_episode(&a, &mut Rng::new(4), true);
        let got = a.train_cartpole_episode(&mut Rng::new(4)).expect("episode");
        assert!(got == want && want > 1.0 && terminated, "{got} vs {want}");
        assert_eq!(a.steps as f32, want);
        assert!(
            a.replay.recent(0).is_some_and(|t| t.done)
                && a.replay.recent(1).is_some_and(|t| !t.done)
        );
        let (want, _) = greedy_episode(&a, &mut Rng::new(6), false);
        assert_eq!(a.cartpole_return(&mut Rng::new(6)), want);
    }

    #[test]
    fn training_stops_at_the_goal_or_the_step_budget() {
        // no budget: no episode
        let mut a = agent(NO_TRAINING);
        assert_eq!(train_cartpole(&mut a, &mut Rng::new(8), 0.0, 0, |_, _| {}), Ok(0));
        assert_eq!(a.steps, 0);
        // an unreachable goal: episodes until the step budget
        let mut returns = Vec::new();
        let mut a = agent(NO_TRAINING);
        let episodes = train_cartpole(&mut a, &mut Rng::new(8), f32::INFINITY, 3_000, |i, r| {
            assert_eq!(i, returns.len() + 1);
            returns.push(r);
        });
        assert_eq!(episodes, Ok(returns.len()));
        assert!(a.steps >= 3_000 && a.steps as f32 == returns.iter().sum::<f32>());
        assert!(a.steps as f32 - returns[returns.len() - 1] < 3_000.0);
        // the goal: the best mean of 100 consecutive returns before the last episode; the run
        // stops at its first window (the 100 returns before the episode count) whose mean
        // reaches it, after the first window and before the step budget
        let mean = |k: usize| returns[k - 100..k].iter().sum::<f32>() / 100.0;
        let goal = (100..returns.len()).map(mean).fold(f32::NEG_INFINITY, f32::max);
        let stop = (100..returns.len()).find(|&k| mean(k) >= goal).expect("a window");
        assert!(stop > 100 && stop < returns.len(), "{stop} of {}", returns.len());
        let mut a = agent(NO_TRAINING);
        assert_eq!(train_cartpole(&mut a, &mut Rng::new(8), goal, 3_000, |_, _| {}), Ok(stop));
    }

    #[test]
    fn train_and_score_reports_the_run() {
        let mut a = cartpole_agent::<64>(1, cartpole_adam(1e-3).expect("adam"));
        let mut returns = Vec::new();
        let run =
            cartpole_train_and_score(&mut a, 3, 3_000, &mut |_, r| returns.push(r)).expect("run");
        assert!(returns.len() > 100, "{}", returns.len());
        let last = returns[returns.len() - 100..].iter().sum::<f32>() / 100.0;
        let mut eval = Rng::new(99);
        let greedy = (0..100).map(|_| a.cartpole_return(&mut eval)).sum::<f32>() / 100.0;
        let want = CartPoleRun {
            episodes: returns.len(),
            steps: a.steps,
            updates: 0,
            last_100: last,
            greedy,
        };
        assert_eq!(run, want);
        assert!(greedy > 5.0 && last > 5.0, "{run:?}");
    }
}
