//! Reinforcement learning on the core's layers (the seed's deep Q-learning): the classic
//! cart-pole environment and a fixed-size replay buffer, both `no_std` and allocation-free,
//! so the same agent trains on the host and on a microcontroller with the same bits.

pub mod cartpole;
pub mod dqn;
pub mod replay;

pub use cartpole::{CartPole, CartPoleState};
pub use dqn::{
    cartpole_adam, cartpole_agent, cartpole_run, cartpole_run_device, cartpole_train_and_score,
    train_cartpole, CartPoleAgent, CartPoleOpt, CartPoleQ, CartPoleRun, Dqn, DqnConfig,
    DEVICE_REPLAY, HOST_REPLAY,
};
pub use replay::{ReplayBuffer, Transition};
