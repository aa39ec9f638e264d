//! The deep Q-learning agent that trains on the device (`src/bin/dqn.rs`): the host's
//! cart-pole agent (`neurite::rl`: a 4-64-64-2 ReLU Q-network, its target network, Adam,
//! the same recipe) with a replay buffer of [`DEVICE_REPLAY`] transitions, so that the whole
//! agent fits [`DQN_RAM_BUDGET`]. Portable: `tests/tests/firmware_qemu.rs` runs the same
//! seeds on the host and compares the bits.

use neurite::rl::{CartPoleAgent, DEVICE_REPLAY};

/// The device's agent: every buffer it trains with (Q-network, target network, gradients,
/// Adam's two moments, the replay buffer) in one fixed-size value.
pub type Agent = CartPoleAgent<DEVICE_REPLAY>;

/// Seed of the Q-network's initialisation.
pub const INIT_SEED: u64 = 1;
/// Seed of the episodes and the exploration.
pub const ENV_SEED: u64 = 2;
/// Adam's learning rate.
pub const LR: f32 = 1e-3;
/// Environment steps at most (training stops earlier when the last 100 episodes average
/// 195).
pub const MAX_STEPS: u32 = 100_000;

/// Bytes of the agent (the value [`Agent`]).
pub const AGENT_RAM: usize = core::mem::size_of::<Agent>();
/// The RAM this firmware promises for training the agent: the agent and the stack of a
/// training step (the whole run's stack high-water mark, measured by `src/bin/dqn.rs`, is
/// checked against it). 256 KB: the RAM of an nRF52840, a Cortex-M4F.
pub const DQN_RAM_BUDGET: usize = 256 * 1024;

const _: () = assert!(AGENT_RAM <= DQN_RAM_BUDGET, "the DQN agent exceeds its RAM budget");
