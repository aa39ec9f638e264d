//! The cart-pole balancing task (Barto, Sutton and Anderson 1983), with the constants,
//! equations and episode rules of Gymnasium's `CartPole-v1`: a pole hinged on a cart moving
//! on a track; each step pushes the cart left (action 0) or right (1) with 10 N, Euler
//! integration over 0.02 s, reward 1 per step; the episode ends when the pole leans past 12
//! degrees or the cart leaves +-2.4 m (terminated), or after 500 steps (truncated).
//!
//! Arithmetic: `f32`, the equations in Gymnasium's order, `sin`/`cos` through
//! [`crate::math`] (libm), so every target computes the same trajectory bit for bit.

use crate::math;
use crate::rng::Rng;

/// Gravity, m/s^2.
pub const GRAVITY: f32 = 9.8;
/// Cart mass, kg.
pub const MASS_CART: f32 = 1.0;
/// Pole mass, kg.
pub const MASS_POLE: f32 = 0.1;
/// Half the pole's length, m.
pub const HALF_LENGTH: f32 = 0.5;
/// Push, N.
pub const FORCE: f32 = 10.0;
/// Time step, s.
pub const TAU: f32 = 0.02;
/// The pole's angle limit: 12 degrees, in radians (Gymnasium's `12 * 2 * pi / 360`).
pub const THETA_LIMIT: f32 = 12.0 * 2.0 * core::f32::consts::PI / 360.0;
/// The cart's position limit, m.
pub const X_LIMIT: f32 = 2.4;
/// Steps after which an episode is truncated (`CartPole-v1`).
pub const MAX_STEPS: u32 = 500;

/// The observation: cart position and velocity, pole angle and angular velocity.
pub type CartPoleState = [f32; 4];

/// One cart-pole episode in progress.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CartPole {
    /// `[x, x_dot, theta, theta_dot]`.
    pub state: CartPoleState,
    /// Steps taken in this episode.
    pub steps: u32,
}

/// What a step returns.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepResult {
    /// The observation after the step.
    pub state: CartPoleState,
    /// 1.0 for every step (Gymnasium's reward, the terminating one included).
    pub reward: f32,
    /// The pole fell or the cart left the track: the next state has no value.
    pub terminated: bool,
    /// The step limit was reached (the next state still has a value).
    pub truncated: bool,
}

impl CartPole {
    /// A new episode: every state variable uniform in [-0.05, 0.05) (Gymnasium's reset).
    pub fn reset(rng: &mut Rng) -> Self {
        let mut state = [0.0; 4];
        for v in &mut state {
            *v = rng.uniform_range(-0.05, 0.05);
        }
        Self { state, steps: 0 }
    }

    /// An episode from a given state.
    pub const fn from_state(state: CartPoleState) -> Self {
        Self { state, steps: 0 }
    }

    /// Pushes left (`action == 0`) or right (any other) for one time step.
    pub fn step(&mut self, action: usize) -> StepResult {
        let [x, x_dot, theta, theta_dot] = self.state;
        let force = if action == 1 { FORCE } else { -FORCE };
        let (cos_t, sin_t) = (math::cos(theta), math::sin(theta));
        let total_mass = MASS_POLE + MASS_CART;
        let pole_mass_length = MASS_POLE * HALF_LENGTH;
        let temp = (force + pole_mass_length * theta_dot * theta_dot * sin_t) / total_mass;
        let theta_acc = (GRAVITY * sin_t - cos_t * temp)
            / (HALF_LENGTH * (4.0 / 3.0 - MASS_POLE * cos_t * cos_t / total_mass));
        let x_acc = temp - pole_mass_length * theta_acc * cos_t / total_mass;
        // explicit Euler, Gymnasium's default `kinematics_integrator = "euler"`
        let x = x + TAU * x_dot;
        let x_dot = x_dot + TAU * x_acc;
        let theta = theta + TAU * theta_dot;
        let theta_dot = theta_dot + TAU * theta_acc;
        self.state = [x, x_dot, theta, theta_dot];
        self.steps = self.steps.saturating_add(1);
        let terminated =
            !(-X_LIMIT..=X_LIMIT).contains(&x) || !(-THETA_LIMIT..=THETA_LIMIT).contains(&theta);
        StepResult {
            state: self.state,
            reward: 1.0,
            terminated,
            truncated: !terminated && self.steps >= MAX_STEPS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With no push the pole falls the way it leans, and the episode ends past 12 degrees.
    #[test]
    fn an_unbalanced_pole_falls_and_ends_the_episode() {
        let mut env = CartPole::from_state([0.0, 0.0, 0.05, 0.0]);
        let mut steps = 0;
        let mut last = env.step(0);
        while !last.terminated && steps < 200 {
            // alternate pushes: no net force on average
            last = env.step(steps % 2);
            steps += 1;
        }
        assert!(last.terminated && last.state[2] > THETA_LIMIT, "{last:?}");
        assert!(steps < 100, "{steps}");
    }

    /// Truncation after 500 steps of a balanced pole (the state held at rest by hand).
    #[test]
    fn episodes_are_truncated_at_500_steps() {
        let mut env = CartPole::from_state([0.0; 4]);
        for _ in 0..MAX_STEPS - 1 {
            env.state = [0.0; 4];
            assert!(!env.step(1).truncated);
            env.state = [0.0; 4];
        }
        let r = env.step(1);
        assert!(r.truncated && !r.terminated && r.reward == 1.0);
    }

    /// Four steps of Gymnasium 1.4.0's `CartPole-v1` from `[2, 1, -0.15, 0.5]` (pushes left,
    /// right, left, left), the start of a trajectory in `tests/rl/cartpole_reference.json`
    /// (written by `tests/rl/make_cartpole_reference.py`; `tests/tests/cartpole.rs` checks
    /// all of it): every value within 2e-6 (f32 here, f64 there).
    #[test]
    fn four_steps_follow_gymnasium() {
        let want: [(usize, [f64; 4]); 4] = [
            (0, [2.019_999_98, 0.807_275_59, -0.140_000_00, 0.741_905_63]),
            (1, [2.036_145_45, 1.004_024_03, -0.125_161_89, 0.408_644_88]),
            (0, [2.056_226_02, 0.810_878_22, -0.116_988_99, 0.659_395_58]),
            (0, [2.072_443_49, 0.617_562_00, -0.103_801_08, 0.913_071_45]),
        ];
        let mut env = CartPole::from_state([2.0, 1.0, -0.15, 0.5]);
        for (action, state) in want {
            let r = env.step(action);
            for (g, w) in r.state.iter().zip(state) {
                assert!((f64::from(*g) - w).abs() <= 2e-6, "{:?} vs {state:?}", r.state);
            }
            assert!(!r.terminated && !r.truncated && r.reward == 1.0);
        }
    }

    /// The limits: 12 degrees and 2.4 m either way.
    #[test]
    fn the_episode_ends_past_the_limits() {
        assert!((THETA_LIMIT - 12.0f32.to_radians()).abs() < 1e-7);
        for (start, ends) in [
            ([0.0, 0.0, 0.2, 0.0], false),
            ([0.0, 0.0, 0.2, 1.0], true),
            ([0.0, 0.0, -0.2, -1.0], true),
            ([2.39, 0.0, 0.0, 0.0], false),
            ([2.39, 1.0, 0.0, 0.0], true),
            ([-2.39, -1.0, 0.0, 0.0], true),
        ] {
            let r = CartPole::from_state(start).step(0);
            assert_eq!((r.terminated, r.truncated), (ends, false), "{start:?}: {r:?}");
        }
    }
}
