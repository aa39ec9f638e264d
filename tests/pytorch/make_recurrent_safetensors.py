#!/usr/bin/env python3
"""Trains a GRU, an LSTM and a self-attention classifier on the shipped digits in PyTorch,
each digit read as 8 time steps (tokens) of 8 pixels (scaled to [0, 1]), and saves what a
PyTorch user hands to neurite: the state dicts as safetensors (no neurite metadata; the
recurrent layer registered as module "0" and the linear head as "1", as in an
nn.Sequential; the attention model an nn.Sequential of Linear, MultiheadAttention called as
m(x, x, x), Flatten, Linear), plus the models' outputs on some inputs, which
`neurite import --safetensors ... --layers "gru(16),dense(10)" --input-shape 8x8` must
reproduce.

Run: python3 tests/pytorch/make_recurrent_safetensors.py  (needs torch and safetensors)
Writes: tests/pytorch/digits_{gru,lstm,attention}.safetensors, tests/pytorch/digits_recurrent_expected.json
"""
import csv
import json
import os

import torch
import torch.nn as nn
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "host", "data", "digits.csv")
torch.set_num_threads(1)


class Classifier(nn.Module):
    """A recurrent layer ("0") whose last step feeds a linear head ("1")."""

    def __init__(self, cell):
        super().__init__()
        self.add_module("0", cell)
        self.add_module("1", nn.Linear(cell.hidden_size, 10))

    def forward(self, x):
        out, _ = getattr(self, "0")(x)
        return getattr(self, "1")(out[:, -1])


class SelfAttention(nn.MultiheadAttention):
    """nn.MultiheadAttention(batch_first=True) as a layer of an nn.Sequential: m(x, x, x),
    no mask; its state-dict keys are PyTorch's own (in_proj_weight, out_proj.weight, ...)."""

    def forward(self, x):
        return super().forward(x, x, x, need_weights=False)[0]


with open(DATA) as f:
    rows = list(csv.reader(f))[1:]
x = torch.tensor([[float(v) / 16.0 for v in r[:-1]] for r in rows]).reshape(-1, 8, 8)
y = torch.tensor([int(r[-1]) for r in rows])

expected = {"torch_version": torch.__version__, "models": {}}
MODELS = [
    ("gru", "gru(16),dense(10)", lambda: Classifier(nn.GRU(8, 16, batch_first=True))),
    ("lstm", "lstm(16),dense(10)", lambda: Classifier(nn.LSTM(8, 16, batch_first=True))),
    ("attention", "dense(16),self_attention(2),flatten,dense(10)", lambda: nn.Sequential(
        nn.Linear(8, 16), SelfAttention(16, 2, batch_first=True), nn.Flatten(), nn.Linear(128, 10))),
]
for name, layers, build in MODELS:
    torch.manual_seed(0)
    model = build()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for epoch in range(15):
        for i in range(0, len(x), 64):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x[i:i + 64]), y[i:i + 64])
            loss.backward()
            opt.step()
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, os.path.join(HERE, f"digits_{name}.safetensors"))
    probe = x[::60]
    with torch.no_grad():
        out = model(probe)
        acc = (model(x).argmax(1) == y).float().mean().item()
    expected["models"][name] = {
        "layers": layers,
        "input_shape": "8x8",
        "train_accuracy": acc,
        "x": probe.reshape(len(probe), -1).tolist(),
        "output": out.tolist(),
    }
    print(name, "train accuracy", acc, "keys", list(state))
with open(os.path.join(HERE, "digits_recurrent_expected.json"), "w") as f:
    json.dump(expected, f)
