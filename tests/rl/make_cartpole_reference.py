#!/usr/bin/env python3
"""Gymnasium's CartPole-v1 trajectories for tests/tests/cartpole.rs.

Each case starts the unwrapped environment at a given state and applies a fixed action
sequence (seeded), recording every next state and the terminated flag, until it terminates
or 120 steps pass. Gymnasium computes in float64; neurite in float32.

    pip install gymnasium
    python3 tests/rl/make_cartpole_reference.py   # writes tests/rl/cartpole_reference.json
"""

import json
import os
import random

import gymnasium as gym
import numpy as np


def main():
    env = gym.make("CartPole-v1").unwrapped
    env.reset(seed=0)
    rng = random.Random(7)
    cases = []
    starts = [[0.0, 0.0, 0.0, 0.0], [0.01, -0.02, 0.03, 0.04], [-0.04, 0.03, -0.02, 0.01],
              [0.5, 0.2, 0.1, -0.3], [2.0, 1.0, -0.15, 0.5]]
    for start in starts:
        for policy in ["random", "left", "right"]:
            env.state = np.array(start, dtype=np.float64)
            env.steps_beyond_terminated = None
            steps = []
            for _ in range(120):
                action = {"left": 0, "right": 1}.get(policy, rng.randrange(2))
                state, reward, terminated, truncated, _ = env.step(action)
                steps.append({"action": action, "state": [float(v) for v in state],
                              "reward": float(reward), "terminated": bool(terminated)})
                if terminated:
                    break
            cases.append({"start": start, "policy": policy, "steps": steps})
    out = os.path.join(os.path.dirname(__file__), "cartpole_reference.json")
    with open(out, "w") as f:
        json.dump({"gymnasium": gym.__version__, "cases": cases}, f, indent=0)
    print(f"{out}: {len(cases)} cases, {sum(len(c['steps']) for c in cases)} steps")


if __name__ == "__main__":
    main()
