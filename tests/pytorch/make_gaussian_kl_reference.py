#!/usr/bin/env python3
"""PyTorch reference values of the VAE's KL term (`neurite::loss::gaussian_kl`) for
tests/tests/vae.rs.

Each case draws `mu` and `logvar` (float32, seeded) and records
`kl_divergence(Normal(mu, exp(0.5 logvar)), Normal(0, 1)).sum()` and its autograd gradient
with respect to `mu` and `logvar`, computed in float64 from the float32 inputs.

    python3 tests/pytorch/make_gaussian_kl_reference.py   # writes tests/pytorch/gaussian_kl_reference.json
"""

import json
import os

import torch
from torch.distributions import Normal, kl_divergence


def main():
    g = torch.Generator().manual_seed(17)
    cases = []
    # (latent size, scale of mu, range of logvar)
    shapes = [(1, 1.0, (-1.0, 1.0)), (2, 0.5, (-3.0, 0.5)), (4, 2.0, (-2.0, 2.0)),
              (8, 1.0, (-6.0, 3.0)), (16, 3.0, (-1.0, 1.0))]
    inputs = []
    for n, scale, (lo, hi) in shapes:
        mu32 = (torch.randn(n, generator=g) * scale).float()
        lv32 = (lo + (hi - lo) * torch.rand(n, generator=g)).float()
        inputs.append((mu32, lv32))
    # the prior itself: KL 0, gradient 0
    inputs.append((torch.zeros(3), torch.zeros(3)))
    for mu32, lv32 in inputs:
        mu = mu32.double().requires_grad_(True)
        lv = lv32.double().requires_grad_(True)
        kl = kl_divergence(Normal(mu, torch.exp(0.5 * lv)), Normal(0.0, 1.0)).sum()
        kl.backward()
        cases.append({"mu": mu32.tolist(), "logvar": lv32.tolist(), "kl": kl.item(),
                      "dmu": mu.grad.tolist(), "dlogvar": lv.grad.tolist()})
    out = os.path.join(os.path.dirname(__file__), "gaussian_kl_reference.json")
    with open(out, "w") as f:
        json.dump({"torch": torch.__version__, "cases": cases}, f, indent=1)
    print(f"{out}: {len(cases)} cases")


if __name__ == "__main__":
    main()
