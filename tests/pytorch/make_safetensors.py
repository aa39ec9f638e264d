#!/usr/bin/env python3
"""Trains a small nn.Sequential on the shipped iris data in PyTorch and saves what a PyTorch
user would hand to neurite: the state dict as safetensors (no neurite metadata), plus the
model's outputs on some inputs, which `neurite import` must reproduce.

Run: python3 tests/pytorch/make_safetensors.py  (needs torch and safetensors)
Writes: tests/pytorch/iris_mlp.safetensors, tests/pytorch/iris_mlp_expected.json
"""
import csv
import json
import os

import torch
import torch.nn as nn
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "host", "data", "iris.csv")

torch.manual_seed(0)
with open(DATA) as f:
    rows = list(csv.reader(f))[1:]
x = torch.tensor([[float(v) for v in r[:-1]] for r in rows])
y = torch.tensor([int(r[-1]) for r in rows])

# Linear, GELU (tanh), Linear, PReLU (per channel), Linear, then LogSoftmax: every kind of
# module neurite imports, with learnt parameters in Linear and PReLU.
model = nn.Sequential(
    nn.Linear(4, 8),
    nn.GELU(approximate="tanh"),
    nn.Linear(8, 6),
    nn.PReLU(6),
    nn.Linear(6, 3),
    nn.LogSoftmax(dim=1),
)
opt = torch.optim.Adam(model.parameters(), lr=0.02)
for _ in range(200):
    opt.zero_grad()
    loss = nn.functional.nll_loss(model(x), y)
    loss.backward()
    opt.step()

state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
save_file(state, os.path.join(HERE, "iris_mlp.safetensors"))
probe = x[::10]
with torch.no_grad():
    out = model(probe)
acc = (model(x).argmax(1) == y).float().mean().item()
with open(os.path.join(HERE, "iris_mlp_expected.json"), "w") as f:
    json.dump(
        {
            "layers": "dense(8),gelu(tanh),dense(6),prelu(channel),dense(3),log_softmax",
            "torch_version": torch.__version__,
            "train_accuracy": acc,
            "x": probe.tolist(),
            "output": out.tolist(),
        },
        f,
    )
print("saved; train accuracy", acc, "keys", list(state))
