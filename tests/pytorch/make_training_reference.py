#!/usr/bin/env python3
"""PyTorch references for the host's training loop (`neurite_host::fit`, what `neurite train`
runs): L1 and L2 (SGD weight decay, AdamW), gradient clipping, the step and cosine schedules,
early stopping with its validation split, on a tiny dataset and MLP written into the JSON.

Each case trains full-batch (one batch of every training row per epoch, so neurite's shuffle
changes nothing but the order of a sum) from initial weights chosen here, exactly as
`host/src/fit.rs` does:

* features standardised with the train rows' statistics as `Standardizer` computes them
  (mean and population variance `E[x^2] - mean^2` summed in f64 in row order, std = 1 when
  the variance is at most 1e-12, both rounded to f32; `(x - mean) / std` in f32); regression
  targets standardised with the train targets' f64 mean and population std;
* with early stopping, validation rows `i % every == every - 1` of the train rows, `every =
  round(1 / clamp(val_split, 0.01, 0.5))`; the best epoch is the first with the lowest
  validation loss, training stops `patience` epochs after it, its weights are kept;
* per epoch: the learning rate of the schedule, the loss of the batch (before the step; L1
  not included), the L1 gradient `lambda * sign(p)`, `clip_grad_norm_`, the optimiser step
  (L2 is its weight decay), then the validation and test losses of the stepped model.

The training runs in float64 from the float32 inputs and weights, with every hyper-parameter
rounded to float32 first (neurite's values), so the reference is the exact arithmetic and the
test measures neurite's float32 error alone. `schedules` holds `get_last_lr()` of StepLR and
CosineAnnealingLR (eta_min 0) for every epoch, for `Schedule::lr` directly.

Run: python3 tests/pytorch/make_training_reference.py  (needs torch, numpy; deterministic)
Writes: tests/pytorch/training_reference.json (read by tests/tests/training_reference.rs)
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "training_reference.json")

torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)


def f32(v):
    """`v` rounded to float32, as a Python float (its exact double: JSON round-trips it)."""
    return float(np.float32(v))


def f32_list(a):
    return [float(v) for v in np.asarray(a, dtype=np.float32).reshape(-1)]


# ---------------------------------------------------------------- data

def make_data(seed, n_train, n_test, task):
    """Three noisy classes (or a noisy regression target) in 4 features on unlike scales."""
    rng = np.random.RandomState(seed)
    n = n_train + n_test
    centres = np.array([[0.0, 0.0, 0.0, 0.0], [1.2, -0.8, 0.6, 1.0], [-0.9, 1.1, 1.3, -0.7]])
    scale = np.array([1.0, 12.0, 0.05, 300.0])
    offset = np.array([5.0, -40.0, 0.3, 1000.0])
    if task == "classify":
        y = rng.randint(0, 3, size=n)
        z = centres[y] + rng.normal(0.0, 0.9, size=(n, 4))
        # label noise, so that a fast learner overfits the few train rows
        flip = rng.rand(n) < 0.2
        y = np.where(flip, rng.randint(0, 3, size=n), y)
        targets = y.astype(np.float32)
    else:
        z = rng.normal(0.0, 1.0, size=(n, 4))
        t = np.tanh(z[:, 0] - 0.5 * z[:, 1]) + 0.3 * z[:, 2] * z[:, 3] + 0.2 * rng.normal(size=n)
        targets = (50.0 + 8.0 * t).astype(np.float32)
    x = (z * scale + offset).astype(np.float32)
    # 4 significant digits, as in a CSV file
    x = np.array([[float(f"{v:.4g}") for v in row] for row in x], dtype=np.float32)
    targets = np.array([float(f"{v:.4g}") for v in targets], dtype=np.float32)
    return (x[:n_train], targets[:n_train]), (x[n_train:], targets[n_train:])


def standardizer(x):
    """`Standardizer::fit`: f64 sums in row order, population variance, f32 results."""
    n, f = x.shape
    mean = [0.0] * f
    sq = [0.0] * f
    for i in range(n):
        for j in range(f):
            v = float(x[i, j])
            mean[j] += v
            sq[j] += v * v
    m32, s32 = [], []
    for j in range(f):
        mean[j] /= n
        var = max(sq[j] / n - mean[j] * mean[j], 0.0)
        m32.append(f32(mean[j]))
        s32.append(f32(math.sqrt(var)) if var > 1e-12 else 1.0)
    return np.array(m32, dtype=np.float32), np.array(s32, dtype=np.float32)


def target_scaler(t):
    n = len(t)
    mean = sum(float(v) for v in t) / n
    var = sum((float(v) - mean) ** 2 for v in t) / n
    std = math.sqrt(var) if var > 1e-12 else 1.0
    return lambda a: np.array([f32((float(v) - mean) / std) for v in a])


# ---------------------------------------------------------------- model

def initial_weights(seed, sizes):
    """PyTorch's default Linear init under `seed`, in float32: `[W0, b0, W1, b1, ...]`."""
    torch.manual_seed(seed)
    ws = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        lin = nn.Linear(a, b)
        ws += [lin.weight.detach().clone(), lin.bias.detach().clone()]
    return ws


def build(weights):
    layers = []
    n = len(weights) // 2
    for k in range(n):
        w, b = weights[2 * k], weights[2 * k + 1]
        lin = nn.Linear(w.shape[1], w.shape[0]).double()
        with torch.no_grad():
            lin.weight.copy_(w.double())
            lin.bias.copy_(b.double())
        layers.append(lin)
        if k < n - 1:
            layers.append(nn.Tanh())
    return nn.Sequential(*layers)


def make_optimizer(c, params):
    lr, wd = f32(c["lr"]), f32(c["l2"])
    name = c["optimizer"]
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, weight_decay=wd)
    if name == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=f32(c["momentum"]), weight_decay=wd)
    betas = (f32(0.9), f32(0.999))
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=betas, eps=f32(1e-8), weight_decay=wd)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=betas, eps=f32(1e-8), weight_decay=wd)
    raise ValueError(name)


def make_scheduler(schedule, opt, epochs):
    if schedule == "constant":
        return None
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs, eta_min=0.0)
    every, gamma = schedule[len("step("):-1].split(",")
    return torch.optim.lr_scheduler.StepLR(opt, step_size=int(every), gamma=f32(float(gamma)))


# ---------------------------------------------------------------- one case

def run_case(c):
    task = c["task"]
    (xtr, ttr), (xte, tte) = make_data(c["data_seed"], c["n_train"], c["n_test"], task)
    mean, std = standardizer(xtr)
    str_ = ((xtr - mean) / std).astype(np.float32)
    ste = ((xte - mean) / std).astype(np.float32)
    if task == "classify":
        ytr = torch.tensor(ttr.astype(np.int64))
        yte = torch.tensor(tte.astype(np.int64))
        loss_fn = F.cross_entropy
        outputs = 3
    else:
        scale = target_scaler(ttr)
        ytr = torch.tensor(scale(ttr)).reshape(-1, 1)
        yte = torch.tensor(scale(tte)).reshape(-1, 1)
        loss_fn = F.mse_loss
        outputs = 1
    xall = torch.tensor(str_, dtype=torch.float64)
    xtest = torch.tensor(ste, dtype=torch.float64)

    n = len(xtr)
    if c["early_stopping"] is not None:
        every = round(1.0 / min(max(f32(c["val_split"]), 0.01), 0.5))
        fit_idx = [i for i in range(n) if i % every != every - 1]
        val_idx = [i for i in range(n) if i % every == every - 1]
    else:
        fit_idx, val_idx = list(range(n)), []
    xfit, yfit = xall[fit_idx], ytr[fit_idx]
    xval, yval = xall[val_idx], ytr[val_idx]

    sizes = [4, c["hidden"], outputs]
    init = initial_weights(c["init_seed"], sizes)
    model = build(init)
    params = list(model.parameters())
    opt = make_optimizer(c, params)
    sched = make_scheduler(c["schedule"], opt, c["epochs"])
    l1, clip = f32(c["l1"]), None if c["clip"] is None else f32(c["clip"])

    history, norms = [], []
    best = None  # (val loss, epoch, params)
    for epoch in range(1, c["epochs"] + 1):
        lr = opt.param_groups[0]["lr"]
        opt.zero_grad()
        loss = loss_fn(model(xfit), yfit)
        total = loss
        if l1 > 0.0:
            total = total + l1 * sum(p.abs().sum() for p in params)
        total.backward()
        if clip is not None:
            norm = float(torch.nn.utils.clip_grad_norm_(params, clip))
            # clipping is active, by a margin, in every epoch
            assert norm > 1.2 * clip, (c["name"], epoch, norm)
            norms.append(norm)
        opt.step()
        if sched is not None:
            sched.step()
        with torch.no_grad():
            val = float(loss_fn(model(xval), yval)) if val_idx else None
            test = float(loss_fn(model(xtest), yte))
        history.append({"lr": lr, "train_loss": loss.item(), "val_loss": val, "test_loss": test})
        if c["early_stopping"] is not None:
            if best is None or val < best[0]:
                best = (val, epoch, [p.detach().clone() for p in params])
            elif epoch - best[1] >= c["early_stopping"]:
                break

    if best is None:
        kept, final = len(history), [p.detach().clone() for p in params]
    else:
        kept, final = best[1], best[2]
        # the kept epoch is not the last and no other validation loss is within 1e-3 of it
        assert kept < len(history) < c["epochs"], (c["name"], kept, len(history))
        others = [h["val_loss"] for i, h in enumerate(history) if i + 1 != kept]
        assert min(others) > best[0] * (1 + 1e-3), (c["name"], best[0], min(others))
        # and the last model is far from the kept one
        gap = max(float((a - b.detach()).abs().max()) for a, b in zip(final, params))
        assert gap > 0.05, (c["name"], gap)

    case = {k: v for k, v in c.items() if k not in ("data_seed", "init_seed")}
    for k in ("lr", "l1", "l2", "momentum", "clip", "val_split"):
        if case.get(k) is not None:
            case[k] = f32(case[k])
    case["layers"] = f"dense({c['hidden']}),tanh,dense({outputs})"
    case["batch"] = len(fit_idx)
    case["train"] = {"x": [f32_list(r) for r in xtr], "y": f32_list(ttr)}
    case["test"] = {"x": [f32_list(r) for r in xte], "y": f32_list(tte)}
    case["initial_params"] = [f32_list(t.numpy()) for t in init]
    case["expect"] = {
        "means": f32_list(mean),
        "stds": f32_list(std),
        "history": history,
        "clip_norms": norms,
        "kept_epoch": kept,
        "params": [[float(v) for v in t.reshape(-1)] for t in final],
    }
    return case


# ---------------------------------------------------------------- the cases

COMMON = {
    "task": "classify",
    "data_seed": 7,
    "init_seed": 3,
    "n_train": 24,
    "n_test": 8,
    "hidden": 5,
    "momentum": 0.0,
    "l1": 0.0,
    "l2": 0.0,
    "clip": None,
    "schedule": "constant",
    "epochs": 15,
    "early_stopping": None,
    "val_split": 0.2,
}

CASES = [
    # L1: lambda * sign(p) on every parameter (a sign error moves every weight the other way)
    {"name": "l1_sgd", "optimizer": "sgd", "lr": 0.5, "l1": 0.02},
    # L2 as SGD's weight decay (with momentum), under StepLR
    {"name": "l2_momentum_step", "optimizer": "momentum", "lr": 0.2, "momentum": 0.9,
     "l2": 0.05, "schedule": "step(4,0.5)"},
    # L2 as AdamW's decoupled decay, under CosineAnnealingLR
    {"name": "l2_adamw_cosine", "optimizer": "adamw", "lr": 0.05, "l2": 0.2,
     "schedule": "cosine"},
    # clip_grad_norm_ active in every epoch (plain SGD: the step is the clipped gradient)
    {"name": "clip_sgd", "optimizer": "sgd", "lr": 0.5, "clip": 0.1},
    # cosine with plain SGD: the rate is the step size
    {"name": "cosine_sgd", "optimizer": "sgd", "lr": 0.8, "schedule": "cosine", "epochs": 12},
    # early stopping: a fast learner overfits; the best validation epoch's weights are kept
    {"name": "early_stopping_adam", "optimizer": "adam", "lr": 0.03, "epochs": 60,
     "early_stopping": 4, "val_split": 0.25, "hidden": 8, "n_train": 32, "data_seed": 8},
    # regression (targets standardised too): Adam's coupled L2, L1, clipping, StepLR
    {"name": "regression_adam_l1_l2_clip_step", "task": "regress", "optimizer": "adam",
     "lr": 0.05, "l1": 0.002, "l2": 0.01, "clip": 0.3, "schedule": "step(5,0.3)",
     "data_seed": 11, "init_seed": 5},
]


def schedule_lrs(schedule, lr, epochs):
    """`get_last_lr()` before each epoch (1-based), the schedule stepped after each."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    sched = make_scheduler(schedule, opt, epochs)
    out = []
    for _ in range(epochs):
        out.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    return out


SCHEDULES = [("step(3,0.5)", 0.1, 7), ("step(2,0.1)", 0.1, 7), ("step(1,0.9)", 0.05, 7),
             ("cosine", 0.1, 7), ("cosine", 0.01, 10), ("cosine", 1.0, 1)]


def main():
    doc = {
        "torch_version": torch.__version__,
        "generator": "tests/pytorch/make_training_reference.py",
        "cases": [run_case({**COMMON, **c}) for c in CASES],
        "schedules": [
            {"schedule": s, "lr": f32(lr), "epochs": e, "lrs": schedule_lrs(s, f32(lr), e)}
            for s, lr, e in SCHEDULES
        ],
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    for c in doc["cases"]:
        h = c["expect"]["history"]
        print(f"{c['name']}: {len(h)} epochs, kept {c['expect']['kept_epoch']}, "
              f"loss {h[0]['train_loss']:.4f} -> {h[-1]['train_loss']:.4f}")
    print("wrote", os.path.relpath(OUT))


if __name__ == "__main__":
    main()
