//! Deep Q-learning on cart-pole (the seed's deep reinforcement learning): `neurite::rl`'s
//! `Dqn` agent, a 4-64-64-2 ReLU Q-network, Adam, experience replay and a target network,
//! trained on `CartPole` (Gymnasium's CartPole-v1 dynamics in Rust), then its greedy policy
//! scored over 100 new episodes.
//!
//! `cargo run --release -p neurite-host --example dqn_cartpole`

use neurite::activation::Relu;
use neurite::layer::{Act, Dense, Layer};
use neurite::optim::{Adam, AdamConfig};
use neurite::prelude::{LayerInit, Rng};
use neurite::rl::{CartPole, Dqn, DqnConfig, Transition};

type Q = neurite::Seq![Dense<4, 64>, Act<Relu, 64>, Dense<64, 64>, Act<Relu, 64>, Dense<64, 2>];
type Opt = Adam<<Q as Layer>::Grads>;

fn main() -> Result<(), neurite::Error> {
    let mut q = Q::DEFAULT;
    q.init(&LayerInit::TORCH_DEFAULT, &mut Rng::new(1));
    let mut agent: Dqn<Q, Opt, 10_000, 4> =
        Dqn::new(q, Opt::new(AdamConfig::adam(1e-3))?, DqnConfig::CARTPOLE);
    let mut rng = Rng::new(2);
    let mut returns: Vec<f32> = Vec::new();
    let start = std::time::Instant::now();
    while agent.steps < 100_000 {
        let mut env = CartPole::reset(&mut rng);
        let mut total = 0.0;
        loop {
            let state = env.state;
            let action = agent.act(&state, &mut rng);
            let r = env.step(action);
            total += r.reward;
            let t = Transition { state, action: action as u8, reward: r.reward, next: r.state, done: r.terminated };
            agent.observe(t, &mut rng)?;
            if r.terminated || r.truncated {
                break;
            }
        }
        returns.push(total);
        let last: Vec<f32> = returns.iter().rev().take(100).copied().collect();
        let mean = last.iter().sum::<f32>() / last.len() as f32;
        if returns.len() % 20 == 0 {
            println!("episode {:>4}  steps {:>6}  epsilon {:.3}  return {total:>5}  mean of last 100 {mean:.1}", returns.len(), agent.steps, agent.epsilon());
        }
        if returns.len() >= 100 && mean >= 195.0 {
            break;
        }
    }
    let mut eval = Rng::new(99);
    let mut greedy = 0.0;
    for _ in 0..100 {
        let mut env = CartPole::reset(&mut eval);
        loop {
            let r = env.step(agent.greedy(&env.state));
            greedy += r.reward;
            if r.terminated || r.truncated {
                break;
            }
        }
    }
    println!(
        "trained {} episodes ({} steps, {} updates) in {:.1} s; greedy policy: mean return {:.1} over 100 episodes",
        returns.len(),
        agent.steps,
        agent.updates,
        start.elapsed().as_secs_f32(),
        greedy / 100.0
    );
    Ok(())
}
