//! Deep Q-learning (`neurite::rl::Dqn`) learns cart-pole: the example's run
//! (`neurite::rl::cartpole_run(1, 2, 1e-3, ...)`, what `host/examples/dqn_cartpole.rs` runs)
//! reaches a mean return of 195 over 100 consecutive training episodes within 100,000 steps,
//! and its greedy policy then averages at least 195 over 100 new episodes (the bar;
//! this run: 530 episodes, greedy 285.3); the untrained network's greedy policy is far below.

use neurite::layer::Layer;
use neurite::prelude::{LayerInit, Rng};
use neurite::rl::{cartpole_run, CartPoleQ, Dqn, DqnConfig};

#[test]
fn dqn_learns_cartpole() {
    let run = cartpole_run(1, 2, 1e-3, 100_000, &mut |_, _| {}).expect("trains");
    eprintln!("{run:?}");
    assert!(run.last_100 >= 195.0 && run.steps <= 100_000, "{run:?}");
    assert!(run.greedy >= 195.0, "{run:?}");
    let mut q = CartPoleQ::DEFAULT;
    q.init(&LayerInit::TORCH_DEFAULT, &mut Rng::new(1));
    type Opt = neurite::optim::Adam<<CartPoleQ as Layer>::Grads>;
    let opt = Opt::new(neurite::optim::AdamConfig::adam(1e-3)).expect("config");
    let untrained: Dqn<CartPoleQ, Opt, 1, 4> = Dqn::new(q, opt, DqnConfig::CARTPOLE);
    let mut eval = Rng::new(99);
    let before = (0..100).map(|_| untrained.cartpole_return(&mut eval)).sum::<f32>() / 100.0;
    assert!(before < 50.0, "untrained greedy mean return {before}");
}

/// The device's agent (`neurite_firmware::dqn`: a replay of `DEVICE_REPLAY` transitions, what
/// `firmware/src/bin/dqn.rs` trains in QEMU) learns on the host too, without QEMU: 277
/// episodes to a mean of 195, greedy 406.0 (`firmware_qemu.rs` checks that the device gets
/// these bits).
#[test]
fn the_device_agent_learns_cartpole_on_the_host() {
    use neurite_firmware::dqn::{Agent, ENV_SEED, INIT_SEED, LR, MAX_STEPS};
    let opt = neurite::rl::cartpole_adam(LR).expect("Adam");
    let mut agent: Box<Agent> = Box::new(neurite::rl::cartpole_agent(INIT_SEED, opt));
    let run = neurite::rl::cartpole_run_device(&mut agent, ENV_SEED, MAX_STEPS, &mut |_, _| {})
        .expect("trains");
    eprintln!("{run:?}");
    assert!(run.last_100 >= 195.0 && run.greedy >= 195.0, "{run:?}");
}
