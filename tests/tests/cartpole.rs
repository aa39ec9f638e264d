//! `neurite::rl::CartPole` against Gymnasium's `CartPole-v1` (`tests/rl/cartpole_reference.json`,
//! written by `tests/rl/make_cartpole_reference.py`): 15 trajectories from five start states
//! under random, always-left and always-right pushes, every next state within 2e-6 (neurite
//! integrates in f32, Gymnasium in f64), every reward 1, and termination at the same step.

use neurite::rl::CartPole;
use serde_json::Value;

#[test]
fn cartpole_follows_gymnasium() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/rl/cartpole_reference.json");
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("reference")).expect("JSON");
    let cases = json["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 15);
    let f = |v: &Value| v.as_f64().expect("number") as f32;
    let mut worst = 0.0f32;
    let mut terminations = 0;
    for case in cases {
        let start: Vec<f32> = case["start"].as_array().expect("start").iter().map(f).collect();
        let mut env = CartPole::from_state([start[0], start[1], start[2], start[3]]);
        for (i, step) in case["steps"].as_array().expect("steps").iter().enumerate() {
            let r = env.step(step["action"].as_u64().expect("action") as usize);
            let want: Vec<f32> = step["state"].as_array().expect("state").iter().map(f).collect();
            for (got, want) in r.state.iter().zip(&want) {
                worst = worst.max((got - want).abs());
            }
            assert_eq!(r.reward, f(&step["reward"]));
            let terminated = step["terminated"].as_bool().expect("flag");
            assert_eq!(
                r.terminated, terminated,
                "{} step {i}: {:?} vs {want:?}",
                case["policy"], r.state
            );
            terminations += usize::from(terminated);
        }
    }
    eprintln!("largest state difference {worst:.2e}, {terminations} terminations");
    assert!(worst <= 2e-6, "{worst}"); // 1.07e-6 measured
    assert!(terminations >= 10, "the cases exercise termination: {terminations}");
}
