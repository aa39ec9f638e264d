"""PyTorch reference for the recurrent layers (`neurite::layer::{Rnn, Gru, Lstm}`).

For each of nn.RNN (tanh, relu), nn.GRU and nn.LSTM (one layer, batch_first, zero initial
state), with PyTorch's default initialisation under a fixed seed, a random input sequence
and random loss weights `c`: the outputs, and the gradients of `sum(c * outputs)` with
respect to every parameter (PyTorch's names and layouts) and the input. Writes
`recurrent_reference.json`; `tests/tests/recurrent.rs` loads the weights into the typed
layers and compares.

    python3 tests/pytorch/make_recurrent_reference.py
"""

import json
import os

import torch

I, H, T = 3, 4, 6


def case(name, module):
    torch.manual_seed({"rnn_tanh": 1, "rnn_relu": 2, "gru": 3, "lstm": 4}[name] + 100)
    x = torch.randn(1, T, I, requires_grad=True)
    c = torch.randn(1, T, H)
    y, _ = module(x)
    (c * y).sum().backward()
    params = {n: p.detach().flatten().tolist() for n, p in module.named_parameters()}
    grads = {n: p.grad.flatten().tolist() for n, p in module.named_parameters()}
    return {
        "name": name,
        "input": x.detach()[0].tolist(),
        "loss_weights": c[0].tolist(),
        "params": params,
        "output": y.detach()[0].tolist(),
        "grads": grads,
        "input_grad": x.grad[0].tolist(),
    }


def main():
    cases = []
    for name in ["rnn_tanh", "rnn_relu", "gru", "lstm"]:
        torch.manual_seed({"rnn_tanh": 1, "rnn_relu": 2, "gru": 3, "lstm": 4}[name])
        if name.startswith("rnn"):
            m = torch.nn.RNN(I, H, nonlinearity=name[4:], batch_first=True)
        elif name == "gru":
            m = torch.nn.GRU(I, H, batch_first=True)
        else:
            m = torch.nn.LSTM(I, H, batch_first=True)
        cases.append(case(name, m))
    out = {"torch_version": torch.__version__, "input_size": I, "hidden_size": H, "steps": T,
           "cases": cases}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "recurrent_reference.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print("wrote", path)


if __name__ == "__main__":
    main()
