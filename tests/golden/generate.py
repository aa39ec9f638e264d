#!/usr/bin/env python3
"""Generates neurite's PyTorch golden parity cases (tests/golden/*.json).

Format: docs/DESIGN.md, "Golden parity case format" (copied in tests/README.md).
Each case: a small model with fixed weights, a loss, an optimiser, a batch; the expected
output before training, the loss before each step, d loss / d x and the parameter gradients
at step 0, and the parameters after `steps` steps. Every step: forward on the whole batch,
loss, backward, one optimiser step (for reduction "none", backward of the sum).

Run: python3 tests/golden/generate.py   (needs torch; the JSON it writes is committed, so the
tests never need PyTorch).
"""
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from golden_tolerance import tolerance

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_default_dtype(torch.float32)
torch.set_num_threads(1)  # one summation order on every machine that regenerates


# ---------------------------------------------------------------- layers
class Step(nn.Module):
    def forward(self, x):
        # heaviside(x, 0); autograd gives no gradient through a comparison (all zero)
        return (x > 0).to(x.dtype) + 0.0 * x


class Swish(nn.Module):
    def __init__(self, beta):
        super().__init__()
        self.beta = beta

    def forward(self, x):
        return x * torch.sigmoid(self.beta * x)


def torch_layer(spec):
    name = spec["layer"]
    if name == "dense":
        lin = nn.Linear(spec["in"], spec["out"])
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(spec["weight"]))
            lin.bias.copy_(torch.tensor(spec["bias"]))
        return lin
    if name == "prelu":
        p = nn.PReLU(num_parameters=len(spec["alpha"]))
        with torch.no_grad():
            p.weight.copy_(torch.tensor(spec["alpha"]))
        return p
    simple = {
        "identity": lambda s: nn.Identity(),
        "step": lambda s: Step(),
        "relu": lambda s: nn.ReLU(),
        "leaky_relu": lambda s: nn.LeakyReLU(s.get("negative_slope", 0.01)),
        "elu": lambda s: nn.ELU(s.get("alpha", 1.0)),
        "selu": lambda s: nn.SELU(),
        "gelu": lambda s: nn.GELU(approximate=s.get("approximate", "none")),
        "silu": lambda s: nn.SiLU(),
        "swish": lambda s: Swish(s.get("beta", 1.0)),
        "softplus": lambda s: nn.Softplus(s.get("beta", 1.0), s.get("threshold", 20.0)),
        "sigmoid": lambda s: nn.Sigmoid(),
        "tanh": lambda s: nn.Tanh(),
        "softmax": lambda s: nn.Softmax(dim=1),
        "log_softmax": lambda s: nn.LogSoftmax(dim=1),
    }
    return simple[name](spec)


# ---------------------------------------------------------------- losses
def loss_fn(spec):
    name = spec["name"]
    red = spec.get("reduction", "mean")

    def reduce(v):
        if red == "mean":
            return v.mean()
        if red == "sum":
            return v.sum()
        return v

    if name == "mse":
        return nn.MSELoss(reduction=red)
    if name == "mae":
        return nn.L1Loss(reduction=red)
    if name == "huber":
        return nn.HuberLoss(reduction=red, delta=spec.get("delta", 1.0))
    if name == "bce":
        return nn.BCELoss(reduction=red)
    if name == "bce_with_logits":
        pw = spec.get("pos_weight")
        return nn.BCEWithLogitsLoss(
            reduction=red, pos_weight=None if pw is None else torch.tensor(pw)
        )
    if name == "cross_entropy":
        w = spec.get("weight")
        return nn.CrossEntropyLoss(
            weight=None if w is None else torch.tensor(w),
            reduction=red,
            label_smoothing=spec.get("label_smoothing", 0.0),
        )
    if name == "nll":
        w = spec.get("weight")
        return nn.NLLLoss(weight=None if w is None else torch.tensor(w), reduction=red)
    if name == "kl_div":
        return nn.KLDivLoss(reduction=red, log_target=spec.get("log_target", False))
    if name == "class_balanced":
        beta, counts = spec["beta"], torch.tensor(spec["counts"], dtype=torch.float32)
        w = (1 - beta) / (1 - torch.pow(torch.tensor(beta), counts))
        w = w * len(spec["counts"]) / w.sum()
        return nn.CrossEntropyLoss(weight=w, reduction=red)
    if name == "dice":
        smooth = spec.get("smooth", 1.0)

        def dice(p, t):
            num = 2 * (p * t).sum(1) + smooth
            den = (p * p).sum(1) + (t * t).sum(1) + smooth
            return reduce(1 - num / den)

        return dice
    if name == "dice_bce_with_logits":
        smooth = spec.get("smooth", 1.0)

        def dice_bce(z, t):
            # neurite's DiceBceWithLogits: per sample, the mean BCE over its elements plus the
            # soft Dice (squared denominators) of the sigmoid probabilities
            bce = F.binary_cross_entropy_with_logits(z, t, reduction="none").mean(1)
            p = torch.sigmoid(z)
            num = 2 * (p * t).sum(1) + smooth
            den = (p * p).sum(1) + (t * t).sum(1) + smooth
            return reduce(bce + 1 - num / den)

        return dice_bce
    if name == "focal":
        gamma, alpha = spec.get("gamma", 2.0), spec.get("alpha", 0.25)

        def focal(x, y):
            lp = F.log_softmax(x, 1).gather(1, y[:, None])[:, 0]
            pt = lp.exp()
            return reduce(-alpha * (1 - pt) ** gamma * lp)

        return focal
    if name == "quantile":
        tau = spec["tau"]

        def quantile(p, t):
            r = t - p
            return reduce(torch.maximum(tau * r, (tau - 1) * r))

        return quantile
    if name == "tukey":
        c = spec["c"]

        def tukey(p, t):
            r = t - p
            inside = c * c / 6 * (1 - (1 - (r / c) ** 2) ** 3)
            return reduce(torch.where(r.abs() <= c, inside, torch.full_like(r, c * c / 6)))

        return tukey
    if name == "barron":
        a, c = spec["alpha"], spec["c"]
        if isinstance(a, str):
            a = float(a)

        def barron(p, t):
            x = (p - t) / c
            if a == 2:
                v = 0.5 * x * x
            elif a == 0:
                v = torch.log(0.5 * x * x + 1)
            elif a == -math.inf:
                v = 1 - torch.exp(-0.5 * x * x)
            else:
                b = abs(a - 2)
                v = b / a * ((x * x / b + 1) ** (a / 2) - 1)
            return reduce(v)

        return barron
    raise ValueError(name)


# ---------------------------------------------------------------- optimisers
def optimizer(spec, params):
    o = dict(spec)
    name = o.pop("name")
    if "betas" in o:
        o["betas"] = tuple(o["betas"])
    cls = {
        "sgd": torch.optim.SGD,
        "adagrad": torch.optim.Adagrad,
        "rmsprop": torch.optim.RMSprop,
        "adam": torch.optim.Adam,
        "adamw": torch.optim.AdamW,
    }[name]
    return cls(params, **o)


# ---------------------------------------------------------------- case builder
def rows(t):
    return t.detach().tolist()


def dense(g, n_in, n_out):
    bound = 1 / math.sqrt(n_in)
    w = (torch.rand(n_out, n_in, generator=g) * 2 - 1) * bound * 1.5
    b = (torch.rand(n_out, generator=g) * 2 - 1) * bound
    return {"layer": "dense", "in": n_in, "out": n_out, "weight": rows(w), "bias": rows(b)}


def param_dict(layer, which):
    if isinstance(layer, nn.Linear):
        return {
            "weight": rows(getattr(layer.weight, which) if which else layer.weight),
            "bias": rows(getattr(layer.bias, which) if which else layer.bias),
        }
    if isinstance(layer, nn.PReLU):
        return {"alpha": rows(getattr(layer.weight, which) if which else layer.weight)}
    return None


def make_case(name, model, loss, opt, x, y, steps=3, tol=None):
    modules = [torch_layer(s) for s in model]
    net = nn.Sequential(*modules)
    lf = loss_fn(loss)
    params = [p for p in net.parameters()]
    op = optimizer(opt, params)
    xt = torch.tensor(x, requires_grad=True)
    if isinstance(y[0], list):
        yt = torch.tensor(y)
    else:
        yt = torch.tensor(y, dtype=torch.long)
    expect = {"loss": []}
    with torch.no_grad():
        expect["output"] = rows(net(xt))
    for step in range(steps):
        op.zero_grad()
        if xt.grad is not None:
            xt.grad = None
        out = net(xt)
        lv = lf(out, yt)
        expect["loss"].append(rows(lv))
        lv.sum().backward() if lv.dim() > 0 else lv.backward()
        if step == 0:
            expect["input_grad"] = rows(xt.grad)
            expect["grads"] = [param_dict(m, "grad") for m in modules]
        op.step()
    expect["params"] = [param_dict(m, None) for m in modules]
    case = {
        "name": name,
        "torch_version": torch.__version__,
        "model": model,
        "loss": loss,
        "optimizer": opt,
        "x": x,
        "y": y,
        "steps": steps,
        "expect": expect,
        "tolerance": tol or tolerance(name),
    }
    # JSON cannot hold -inf: write it as the string "-inf" (the runner accepts both)
    text = json.dumps(case, allow_nan=True).replace("-Infinity", '"-inf"')
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        f.write(text + "\n")
    return case


def main():
    for f in os.listdir(HERE):
        # only this script's cases: generate_layers.py owns layer_*.json
        if f.endswith(".json") and f.startswith(("act_", "loss_", "optim_")):
            os.remove(os.path.join(HERE, f))
    g = torch.Generator().manual_seed(20261125)
    N, IN, H, OUT = 5, 4, 6, 3

    def batch(n=N, d=IN, scale=1.5):
        return rows(torch.randn(n, d, generator=g) * scale)

    def classes(n=N, k=OUT):
        return [int(v) for v in torch.randint(0, k, (n,), generator=g)]

    def mlp(act, out=OUT):
        return [dense(g, IN, H), act, dense(g, H, out)]

    adam = {"name": "adam", "lr": 0.01}
    ce = {"name": "cross_entropy", "reduction": "mean"}

    # ---- one case per activation (through an MLP with cross-entropy and Adam)
    acts = {
        "identity": {"layer": "identity"},
        "step": {"layer": "step"},
        "relu": {"layer": "relu"},
        "leaky_relu": {"layer": "leaky_relu", "negative_slope": 0.2},
        "elu": {"layer": "elu", "alpha": 0.7},
        "selu": {"layer": "selu"},
        "gelu": {"layer": "gelu", "approximate": "none"},
        "gelu_tanh": {"layer": "gelu", "approximate": "tanh"},
        "silu": {"layer": "silu"},
        "swish": {"layer": "swish", "beta": 1.7},
        "softplus": {"layer": "softplus", "beta": 2.0, "threshold": 3.0},
        "sigmoid": {"layer": "sigmoid"},
        "tanh": {"layer": "tanh"},
    }
    for an, a in acts.items():
        make_case(f"act_{an}_ce_adam", mlp(a), ce, adam, batch(), classes())
    make_case(
        "act_prelu_shared_ce_adam", mlp({"layer": "prelu", "alpha": [0.3]}), ce, adam,
        batch(), classes(),
    )
    make_case(
        "act_prelu_channel_ce_sgd",
        mlp({"layer": "prelu", "alpha": rows(torch.rand(H, generator=g) * 0.5)}),
        ce, {"name": "sgd", "lr": 0.1, "momentum": 0.9}, batch(), classes(),
    )
    soft = [dense(g, IN, H), {"layer": "tanh"}, dense(g, H, OUT), {"layer": "softmax"}]
    probs = rows(torch.softmax(torch.randn(N, OUT, generator=g), 1))
    make_case("act_softmax_mse_sgd", soft, {"name": "mse"}, {"name": "sgd", "lr": 0.5}, batch(), probs)
    logsoft = [dense(g, IN, H), {"layer": "relu"}, dense(g, H, OUT), {"layer": "log_softmax"}]
    make_case(
        "act_log_softmax_nll_weighted_adam", logsoft,
        {"name": "nll", "weight": [0.5, 2.0, 1.0]}, adam, batch(), classes(),
    )

    # ---- one or more cases per loss
    def reg(out=OUT, scale=1.0):
        return rows(torch.randn(N, out, generator=g) * scale)

    tanh = {"layer": "tanh"}
    sgd = {"name": "sgd", "lr": 0.05}
    for red in ["mean", "sum", "none"]:
        make_case(f"loss_mse_{red}_sgd", mlp(tanh), {"name": "mse", "reduction": red}, sgd, batch(), reg())
    make_case("loss_mae_mean_adam", mlp(tanh), {"name": "mae"}, adam, batch(), reg())
    make_case("loss_mae_sum_sgd", mlp(tanh), {"name": "mae", "reduction": "sum"}, sgd, batch(), reg())
    make_case("loss_huber_delta_adam", mlp(tanh), {"name": "huber", "delta": 0.5}, adam, batch(), reg(scale=2.0))
    make_case("loss_huber_none_sgd", mlp(tanh), {"name": "huber", "delta": 1.5, "reduction": "none"}, sgd, batch(), reg(scale=3.0))
    sig_mlp = [dense(g, IN, H), tanh, dense(g, H, OUT), {"layer": "sigmoid"}]
    bin_t = rows((torch.rand(N, OUT, generator=g) > 0.5).float())
    soft_t = rows(torch.rand(N, OUT, generator=g))
    make_case("loss_bce_mean_adam", sig_mlp, {"name": "bce"}, adam, batch(), bin_t)
    make_case("loss_bce_soft_sum_sgd", sig_mlp, {"name": "bce", "reduction": "sum"}, sgd, batch(), soft_t)
    make_case("loss_bce_with_logits_adam", mlp(tanh), {"name": "bce_with_logits"}, adam, batch(), bin_t)
    make_case(
        "loss_bce_with_logits_pos_weight_sgd", mlp(tanh),
        {"name": "bce_with_logits", "pos_weight": [2.0, 0.5, 3.0], "reduction": "sum"}, sgd, batch(), soft_t,
    )
    make_case("loss_cross_entropy_plain_sgd", mlp(tanh), ce, sgd, batch(), classes())
    make_case(
        "loss_cross_entropy_weight_smoothing_adam", mlp({"layer": "relu"}),
        {"name": "cross_entropy", "weight": [0.2, 1.0, 3.0], "label_smoothing": 0.1}, adam, batch(), classes(),
    )
    make_case(
        "loss_cross_entropy_probs_smoothing_adam", mlp(tanh),
        {"name": "cross_entropy", "label_smoothing": 0.2, "weight": [1.0, 0.5, 2.0]}, adam, batch(), probs,
    )
    make_case(
        "loss_cross_entropy_sum_sgd", mlp(tanh), {"name": "cross_entropy", "reduction": "sum"}, sgd, batch(), classes(),
    )
    make_case(
        "loss_cross_entropy_none_sgd", mlp(tanh), {"name": "cross_entropy", "reduction": "none", "weight": [1.0, 2.0, 0.5]},
        sgd, batch(), classes(),
    )
    make_case("loss_nll_sum_sgd", logsoft, {"name": "nll", "reduction": "sum"}, sgd, batch(), classes())
    make_case("loss_kl_div_batchmean_adam", logsoft, {"name": "kl_div", "reduction": "batchmean"}, adam, batch(), probs)
    make_case(
        "loss_kl_div_log_target_sum_sgd", logsoft,
        {"name": "kl_div", "reduction": "sum", "log_target": True}, sgd, batch(),
        rows(torch.log_softmax(torch.randn(N, OUT, generator=g), 1)),
    )
    make_case("loss_dice_adam", sig_mlp, {"name": "dice", "smooth": 1.0}, adam, batch(), bin_t)
    make_case("loss_dice_sum_smooth_sgd", sig_mlp, {"name": "dice", "smooth": 0.1, "reduction": "sum"}, sgd, batch(), soft_t)
    make_case("loss_focal_adam", mlp(tanh), {"name": "focal", "gamma": 2.0, "alpha": 0.25}, adam, batch(), classes())
    make_case("loss_focal_gamma_half_sum_sgd", mlp(tanh), {"name": "focal", "gamma": 0.5, "alpha": 1.0, "reduction": "sum"}, sgd, batch(), classes())
    make_case(
        "loss_class_balanced_adam", mlp({"layer": "relu"}),
        {"name": "class_balanced", "beta": 0.99, "counts": [50, 10, 200]}, adam, batch(), classes(),
    )
    # tau = 0.7: no subset of 5 per-element gradients (0.7 / -0.3) cancels exactly; with 0.8
    # they can, PyTorch then rounds a zero bias gradient to 2e-9 and Adam turns that into
    # a full lr step whose sign is rounding noise.
    make_case("loss_quantile_tau_adam", mlp(tanh), {"name": "quantile", "tau": 0.7}, adam, batch(), reg())
    make_case("loss_quantile_sum_sgd", mlp(tanh), {"name": "quantile", "tau": 0.3, "reduction": "sum"}, sgd, batch(), reg())
    make_case("loss_tukey_adam", mlp(tanh), {"name": "tukey", "c": 1.5}, adam, batch(), reg(scale=1.5))
    for an, av in [("1", 1.0), ("0", 0.0), ("2", 2.0), ("neg_inf", -math.inf), ("neg2", -2.0), ("4", 4.0)]:
        make_case(
            f"loss_barron_alpha_{an}_sgd", mlp(tanh), {"name": "barron", "alpha": av, "c": 0.7},
            {"name": "sgd", "lr": 0.1}, batch(), reg(scale=1.5),
        )

    # ---- one or more cases per optimiser, multi-step
    relu = {"layer": "relu"}
    opts = {
        "sgd_plain": {"name": "sgd", "lr": 0.1},
        "sgd_momentum_dampening": {"name": "sgd", "lr": 0.05, "momentum": 0.9, "dampening": 0.3},
        "sgd_nesterov_wd": {"name": "sgd", "lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.01},
        "adagrad": {"name": "adagrad", "lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1, "weight_decay": 0.02, "eps": 1e-10},
        "rmsprop": {"name": "rmsprop", "lr": 0.01, "alpha": 0.9},
        "rmsprop_centered_momentum_wd": {"name": "rmsprop", "lr": 0.01, "alpha": 0.95, "momentum": 0.5, "centered": True, "weight_decay": 0.01},
        "adam_amsgrad_wd": {"name": "adam", "lr": 0.02, "betas": [0.8, 0.99], "eps": 1e-6, "weight_decay": 0.05, "amsgrad": True},
        "adamw": {"name": "adamw", "lr": 0.02, "weight_decay": 0.1},
    }
    for on, o in opts.items():
        make_case(f"optim_{on}_ce", mlp(relu), ce, o, batch(), classes(), steps=5)
        make_case(f"optim_{on}_mse", mlp(tanh), {"name": "mse"}, o, batch(), reg(), steps=4)

    # ---- Dice + BCE on logits (the U-Net's loss), 8 outputs per sample as a tiny mask; a
    # generator of its own, so the cases above keep their draws
    g2 = torch.Generator().manual_seed(20261126)
    mask_mlp = [dense(g2, IN, H), tanh, dense(g2, H, 8)]
    mask_x = rows(torch.randn(N, IN, generator=g2) * 1.5)
    mask_t = rows((torch.rand(N, 8, generator=g2) > 0.6).float())
    make_case("loss_dice_bce_with_logits_adam", mask_mlp, {"name": "dice_bce_with_logits"}, adam, mask_x, mask_t)
    soft_mlp = [dense(g2, IN, H), {"layer": "relu"}, dense(g2, H, 8)]
    soft_x = rows(torch.randn(N, IN, generator=g2) * 1.5)
    soft_mask = rows(torch.rand(N, 8, generator=g2))
    make_case(
        "loss_dice_bce_with_logits_sum_smooth_sgd", soft_mlp,
        {"name": "dice_bce_with_logits", "smooth": 0.1, "reduction": "sum"}, {"name": "sgd", "lr": 0.1},
        soft_x, soft_mask,
    )


if __name__ == "__main__":
    main()
    print(len([f for f in os.listdir(HERE) if f.endswith(".json")]), "cases written")
