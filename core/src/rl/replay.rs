//! A replay buffer of `N` transitions in a fixed array (no allocation: on a device it is
//! part of the RAM budget known at compile time): once full, each new transition replaces
//! the oldest; minibatches are drawn uniformly with replacement (DQN's experience replay).

use crate::rng::Rng;

/// One step of experience with an `S`-value observation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Transition<const S: usize> {
    /// The observation the action was taken in.
    pub state: [f32; S],
    /// The action taken.
    pub action: u8,
    /// The reward received.
    pub reward: f32,
    /// The observation after the step.
    pub next: [f32; S],
    /// The episode terminated with this step (the next observation has no value).
    pub done: bool,
}

impl<const S: usize> Transition<S> {
    /// An all-zero transition (the buffer's initial contents).
    pub const ZERO: Self =
        Self { state: [0.0; S], action: 0, reward: 0.0, next: [0.0; S], done: false };
}

/// The last `N` transitions.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplayBuffer<const N: usize, const S: usize> {
    items: [Transition<S>; N],
    len: usize,
    next: usize,
}

impl<const N: usize, const S: usize> Default for ReplayBuffer<N, S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize, const S: usize> ReplayBuffer<N, S> {
    /// An empty buffer (usable in a `static`).
    pub const fn new() -> Self {
        Self { items: [Transition::ZERO; N], len: 0, next: 0 }
    }

    /// Transitions held (at most `N`).
    pub const fn len(&self) -> usize {
        self.len
    }

    /// `true` before the first push.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Stores `t`, replacing the oldest transition when full (a buffer of 0 stores nothing).
    pub fn push(&mut self, t: Transition<S>) {
        if let Some(slot) = self.items.get_mut(self.next) {
            *slot = t;
            self.next = (self.next + 1) % N;
            self.len = (self.len + 1).min(N);
        }
    }

    /// The transition `i` pushes ago (0: the newest), if held.
    pub fn recent(&self, i: usize) -> Option<&Transition<S>> {
        (i < self.len).then(|| &self.items[(self.next + N - 1 - i) % N])
    }

    /// A transition drawn uniformly from those held (one `rng.below` draw), or `None` when
    /// empty.
    pub fn sample(&self, rng: &mut Rng) -> Option<&Transition<S>> {
        (self.len > 0).then(|| &self.items[rng.below(self.len)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: f32) -> Transition<1> {
        Transition { state: [v], action: 1, reward: v, next: [v + 1.0], done: false }
    }

    #[test]
    fn keeps_the_last_n_and_replaces_the_oldest() {
        let mut b = ReplayBuffer::<3, 1>::new();
        assert!(b.is_empty() && b.sample(&mut Rng::new(1)).is_none());
        for v in 0..5 {
            b.push(t(v as f32));
        }
        assert_eq!(b.len(), 3);
        assert!(!b.is_empty());
        assert_eq!(b.recent(0).map(|x| x.reward), Some(4.0));
        assert_eq!(b.recent(2).map(|x| x.reward), Some(2.0));
        assert_eq!(b.recent(3), None);
        let mut rng = Rng::new(3);
        let mut seen = [false; 5];
        for _ in 0..100 {
            let r = b.sample(&mut rng).map_or(0.0, |x| x.reward);
            seen[r as usize] = true;
        }
        assert_eq!(seen, [false, false, true, true, true]);
        let mut empty = ReplayBuffer::<0, 1>::new();
        empty.push(t(1.0));
        assert!(empty.is_empty());
    }
}
