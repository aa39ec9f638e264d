//! Deep Q-learning on cart-pole (the seed's deep reinforcement learning): `neurite::rl`'s
//! `Dqn` agent, a 4-64-64-2 ReLU Q-network, Adam, experience replay and a target network,
//! trained on `CartPole` (Gymnasium's CartPole-v1 dynamics in Rust) until the last 100
//! episodes average 195, then its greedy policy scored over 100 new episodes
//! (`neurite::rl::cartpole_run`, also run by `tests/tests/dqn.rs`).
//!
//! `cargo run --release -p neurite-host --example dqn_cartpole`

fn main() -> Result<(), neurite::Error> {
    let start = std::time::Instant::now();
    let mut recent = std::collections::VecDeque::new();
    let run = neurite::rl::cartpole_run(1, 2, 1e-3, 100_000, &mut |i, r| {
        recent.push_back(r);
        if recent.len() > 100 {
            recent.pop_front();
        }
        if i % 50 == 0 {
            let mean = recent.iter().sum::<f32>() / recent.len() as f32;
            println!("episode {i:>4}  return {r:>5}  mean of the last 100 {mean:.1}");
        }
    })?;
    println!(
        "trained {} episodes ({} steps, {} updates) in {:.1} s, last 100 episodes' mean {:.1}; greedy policy: mean return {:.1} over 100 new episodes",
        run.episodes,
        run.steps,
        run.updates,
        start.elapsed().as_secs_f32(),
        run.last_100,
        run.greedy
    );
    Ok(())
}
