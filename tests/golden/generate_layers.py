#!/usr/bin/env python3
"""Generates neurite's PyTorch golden parity cases for the layer families
(tests/golden/layer_*.json): conv1d, conv2d, conv_transpose2d, max/avg pools,
global_avg_pool, flatten, batchnorm1d/2d, layernorm, dropout (eval), residual, concat,
rnn, gru, lstm, embedding, self_attention, positional_embedding (a transformer encoder
block), gcn_conv and graph_mean_pool (graph convolution, written out: torch_geometric is not
needed), and one small CNN.

Format: docs/DESIGN.md, "Golden parity case format" and "Golden format, layer
families". Each case: a small model whose weights are drawn by PyTorch's default init under
a per-case seed, a loss, an optimiser, a batch of 3-4 samples; the expected output before
training, the loss before each step, d loss / d x and the parameter gradients at step 0, the
parameters after `steps` steps and, when the model has batch norm, its running statistics
after `steps` steps. Every step: forward on the whole batch (module mode = the case's
`mode`), loss, backward, one optimiser step.

The JSON model is written from the PyTorch modules, then read back into fresh modules that
produce the expected values, so the file is exactly what PyTorch ran.

Run: python3 tests/golden/generate_layers.py   (needs torch; it rewrites only layer_*.json,
the JSON it writes is committed, so the tests never need PyTorch).
`python3 tests/golden/generate_layers.py recurrent` writes only the recurrent cases,
`... graph` only the graph cases.
"""
import json
import os
import zlib

import torch
import torch.nn as nn
import torch.nn.functional as F

from golden_tolerance import tolerance

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_default_dtype(torch.float32)
torch.set_num_threads(1)  # one summation order on every machine that regenerates


# ---------------------------------------------------------------- extra modules
class GlobalAvgPool(nn.Module):
    """Mean over every axis after the channel axis: [C, ...] -> [C]."""

    def forward(self, x):
        return x.mean(dim=tuple(range(2, x.dim())))


class Residual(nn.Module):
    def __init__(self, *body):
        super().__init__()
        self.body = nn.Sequential(*body)

    def forward(self, x):
        return x + self.body(x)


class Concat(nn.Module):
    """x and body(x) stacked along the channel axis (axis 1 of a batch): a U-Net skip."""

    def __init__(self, *body):
        super().__init__()
        self.body = nn.Sequential(*body)

    def forward(self, x):
        return torch.cat([x, self.body(x)], dim=1)


class Recur(nn.Module):
    """nn.RNN / nn.GRU / nn.LSTM (batch_first) returning the last step's hidden state
    ("return": "last") or every step's ("sequence")."""

    def __init__(self, m, ret="last"):
        super().__init__()
        self.m = m
        self.ret = ret

    def forward(self, x):
        out, _ = self.m(x)
        return out[:, -1] if self.ret == "last" else out


class GCNConv(nn.Module):
    """PyTorch Geometric's GCNConv over a fixed dense adjacency, written out:
    Y = Â X Wᵀ + b, Â = D^-1/2 (A + I) D^-1/2, D the row sums of A + I (a node of degree
    <= 0 gets D^-1/2 = 0); adjacency[i][j] is the weight by which node i receives from
    node j. Weight and bias drawn as nn.Linear's (PyG draws Glorot weights, zero bias: a
    zero bias would hide a missing bias term in the forward)."""

    def __init__(self, f, o, adjacency):
        super().__init__()
        self.lin = nn.Linear(f, o)
        self.register_buffer("adjacency", torch.tensor(adjacency, dtype=torch.float32))

    def a_hat(self):
        a = self.adjacency + torch.eye(self.adjacency.shape[0])
        deg = a.sum(dim=1)
        dinv = torch.where(deg > 0, deg.clamp(min=1e-30).pow(-0.5), torch.zeros_like(deg))
        return dinv[:, None] * a * dinv[None, :]

    def forward(self, x):  # [B, N, F] -> [B, N, O]
        return self.a_hat() @ (x @ self.lin.weight.T) + self.lin.bias


class GraphMeanPool(nn.Module):
    """The mean over nodes: [N, F] -> [F] (PyG's global_mean_pool for one graph)."""

    def forward(self, x):
        return x.mean(dim=1)


RECURRENT_TENSORS = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]


class SelfAttn(nn.Module):
    """nn.MultiheadAttention(batch_first=True) called as m(x, x, x): no mask, no dropout;
    its biases moved off PyTorch's zeros (else a missing bias gradient would go unseen)."""

    def __init__(self, e, heads):
        super().__init__()
        self.m = nn.MultiheadAttention(e, heads, batch_first=True)
        with torch.no_grad():
            self.m.in_proj_bias.copy_((torch.rand(3 * e) * 2 - 1) * 0.2)
            self.m.out_proj.bias.copy_((torch.rand(e) * 2 - 1) * 0.2)

    def forward(self, x):
        return self.m(x, x, x, need_weights=False)[0]

    def tensors(self):
        m = self.m
        return {"in_proj_weight": m.in_proj_weight, "in_proj_bias": m.in_proj_bias,
                "out_proj_weight": m.out_proj.weight, "out_proj_bias": m.out_proj.bias}


class Positions(nn.Module):
    """A learnt positional embedding: x + weight, weight [T][E] drawn N(0, 1)."""

    def __init__(self, t, e):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(t, e))

    def forward(self, x):
        return x + self.weight


# ---------------------------------------------------------------- module <-> JSON spec
def rows(t):
    return t.detach().tolist()


def one(v):
    """An int option as written in JSON (PyTorch keeps some as 1-tuples)."""
    return v if isinstance(v, int) else v[0]


def pair(v):
    """A 2-d option: an int when both values are equal, else [h, w]."""
    if isinstance(v, int):
        return v
    return v[0] if v[0] == v[1] else list(v)


def spec_of(m):
    if isinstance(m, nn.Linear):
        return {"layer": "dense", "in": m.in_features, "out": m.out_features,
                "weight": rows(m.weight), "bias": rows(m.bias)}
    if isinstance(m, (nn.Conv1d, nn.Conv2d)):
        d1 = isinstance(m, nn.Conv1d)
        f = one if d1 else pair
        return {"layer": "conv1d" if d1 else "conv2d",
                "in_channels": m.in_channels, "out_channels": m.out_channels,
                "kernel_size": f(m.kernel_size), "stride": f(m.stride),
                "padding": f(m.padding), "dilation": f(m.dilation), "groups": m.groups,
                "weight": rows(m.weight), "bias": None if m.bias is None else rows(m.bias)}
    if isinstance(m, nn.ConvTranspose2d):
        assert m.groups == 1 and tuple(m.dilation) == (1, 1)
        return {"layer": "conv_transpose2d",
                "in_channels": m.in_channels, "out_channels": m.out_channels,
                "kernel_size": pair(m.kernel_size), "stride": pair(m.stride),
                "padding": pair(m.padding), "output_padding": pair(m.output_padding),
                "weight": rows(m.weight), "bias": None if m.bias is None else rows(m.bias)}
    pools = {nn.MaxPool1d: ("maxpool1d", one), nn.MaxPool2d: ("maxpool2d", pair),
             nn.AvgPool1d: ("avgpool1d", one), nn.AvgPool2d: ("avgpool2d", pair)}
    if type(m) in pools:
        name, f = pools[type(m)]
        if isinstance(m, (nn.AvgPool1d, nn.AvgPool2d)):
            assert m.count_include_pad and not m.ceil_mode
        else:
            assert one(m.dilation) == 1 and not m.ceil_mode
        return {"layer": name, "kernel_size": f(m.kernel_size), "stride": f(m.stride),
                "padding": f(m.padding)}
    if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return {"layer": "batchnorm1d" if isinstance(m, nn.BatchNorm1d) else "batchnorm2d",
                "num_features": m.num_features, "eps": m.eps, "momentum": m.momentum,
                "weight": rows(m.weight), "bias": rows(m.bias),
                "running_mean": rows(m.running_mean), "running_var": rows(m.running_var)}
    if isinstance(m, nn.LayerNorm):
        return {"layer": "layernorm", "normalized_shape": list(m.normalized_shape),
                "eps": m.eps, "weight": rows(m.weight), "bias": rows(m.bias)}
    if isinstance(m, nn.Dropout):
        return {"layer": "dropout", "p": m.p}
    if isinstance(m, SelfAttn):
        e = {"layer": "self_attention", "embed_dim": m.m.embed_dim, "num_heads": m.m.num_heads}
        e.update({k: rows(v) for k, v in m.tensors().items()})
        return e
    if isinstance(m, Positions):
        return {"layer": "positional_embedding", "weight": rows(m.weight)}
    if isinstance(m, nn.Embedding):
        return {"layer": "embedding", "num_embeddings": m.num_embeddings,
                "embedding_dim": m.embedding_dim, "weight": rows(m.weight)}
    if isinstance(m, Recur):
        r = m.m
        name = {nn.RNN: "rnn", nn.GRU: "gru", nn.LSTM: "lstm"}[type(r)]
        e = {"layer": name, "input_size": r.input_size, "hidden_size": r.hidden_size}
        if name == "rnn":
            e["nonlinearity"] = r.nonlinearity
        e["return"] = m.ret
        for t in RECURRENT_TENSORS:
            e[t] = rows(getattr(r, t))
        return e
    if isinstance(m, GCNConv):
        return {"layer": "gcn_conv", "in_channels": m.lin.in_features,
                "out_channels": m.lin.out_features, "adjacency": rows(m.adjacency),
                "weight": rows(m.lin.weight), "bias": rows(m.lin.bias)}
    if isinstance(m, Residual):
        return {"layer": "residual", "body": [spec_of(b) for b in m.body]}
    if isinstance(m, Concat):
        return {"layer": "concat", "body": [spec_of(b) for b in m.body]}
    simple = {nn.ReLU: "relu", nn.Tanh: "tanh", nn.Flatten: "flatten",
              GlobalAvgPool: "global_avg_pool", GraphMeanPool: "graph_mean_pool"}
    return {"layer": simple[type(m)]}


def _set(p, v):
    with torch.no_grad():
        p.copy_(torch.tensor(v))


def torch_layer(s):
    """Builds the PyTorch module a JSON layer describes (the runner's reading of it)."""
    name = s["layer"]
    if name == "dense":
        m = nn.Linear(s["in"], s["out"])
        _set(m.weight, s["weight"]); _set(m.bias, s["bias"])
        return m
    if name in ("conv1d", "conv2d"):
        cls = nn.Conv1d if name == "conv1d" else nn.Conv2d
        f = (lambda v: v) if name == "conv1d" else (lambda v: tuple(v) if isinstance(v, list) else v)
        m = cls(s["in_channels"], s["out_channels"], f(s["kernel_size"]),
                stride=f(s.get("stride", 1)), padding=f(s.get("padding", 0)),
                dilation=f(s.get("dilation", 1)), groups=s.get("groups", 1),
                bias=s["bias"] is not None)
        _set(m.weight, s["weight"])
        if s["bias"] is not None:
            _set(m.bias, s["bias"])
        return m
    if name == "conv_transpose2d":
        f = lambda v: tuple(v) if isinstance(v, list) else v
        m = nn.ConvTranspose2d(s["in_channels"], s["out_channels"], f(s["kernel_size"]),
                               stride=f(s.get("stride", 1)), padding=f(s.get("padding", 0)),
                               output_padding=f(s.get("output_padding", 0)),
                               bias=s["bias"] is not None)
        _set(m.weight, s["weight"])
        if s["bias"] is not None:
            _set(m.bias, s["bias"])
        return m
    if name in ("maxpool1d", "maxpool2d", "avgpool1d", "avgpool2d"):
        cls = {"maxpool1d": nn.MaxPool1d, "maxpool2d": nn.MaxPool2d,
               "avgpool1d": nn.AvgPool1d, "avgpool2d": nn.AvgPool2d}[name]
        f = lambda v: tuple(v) if isinstance(v, list) else v
        k = f(s["kernel_size"])
        return cls(k, stride=f(s.get("stride", k)), padding=f(s.get("padding", 0)))
    if name in ("batchnorm1d", "batchnorm2d"):
        cls = nn.BatchNorm1d if name == "batchnorm1d" else nn.BatchNorm2d
        m = cls(s["num_features"], eps=s.get("eps", 1e-5), momentum=s.get("momentum", 0.1))
        _set(m.weight, s["weight"]); _set(m.bias, s["bias"])
        _set(m.running_mean, s["running_mean"]); _set(m.running_var, s["running_var"])
        return m
    if name == "layernorm":
        m = nn.LayerNorm(s["normalized_shape"], eps=s.get("eps", 1e-5))
        _set(m.weight, s["weight"]); _set(m.bias, s["bias"])
        return m
    if name == "dropout":
        return nn.Dropout(s["p"])
    if name == "self_attention":
        m = SelfAttn(s["embed_dim"], s["num_heads"])
        for k, v in m.tensors().items():
            _set(v, s[k])
        return m
    if name == "positional_embedding":
        w = s["weight"]
        m = Positions(len(w), len(w[0]))
        _set(m.weight, w)
        return m
    if name == "embedding":
        m = nn.Embedding(s["num_embeddings"], s["embedding_dim"])
        _set(m.weight, s["weight"])
        return m
    if name in ("rnn", "gru", "lstm"):
        if name == "rnn":
            r = nn.RNN(s["input_size"], s["hidden_size"], nonlinearity=s.get("nonlinearity", "tanh"),
                       batch_first=True)
        else:
            r = {"gru": nn.GRU, "lstm": nn.LSTM}[name](s["input_size"], s["hidden_size"],
                                                        batch_first=True)
        for t in RECURRENT_TENSORS:
            _set(getattr(r, t), s[t])
        return Recur(r, s.get("return", "last"))
    if name == "gcn_conv":
        m = GCNConv(s["in_channels"], s["out_channels"], s["adjacency"])
        _set(m.lin.weight, s["weight"]); _set(m.lin.bias, s["bias"])
        return m
    if name == "residual":
        return Residual(*[torch_layer(b) for b in s["body"]])
    if name == "concat":
        return Concat(*[torch_layer(b) for b in s["body"]])
    return {"relu": nn.ReLU, "tanh": nn.Tanh, "flatten": nn.Flatten,
            "global_avg_pool": GlobalAvgPool, "graph_mean_pool": GraphMeanPool}[name]()


# ---------------------------------------------------------------- expected values
def param_entry(m, grad):
    get = (lambda p: rows(p.grad)) if grad else rows
    if isinstance(m, (Residual, Concat)):
        return [param_entry(b, grad) for b in m.body]
    if isinstance(m, Recur):
        return {t: get(getattr(m.m, t)) for t in RECURRENT_TENSORS}
    if isinstance(m, nn.Embedding):
        return {"weight": get(m.weight)}
    if isinstance(m, SelfAttn):
        return {k: get(v) for k, v in m.tensors().items()}
    if isinstance(m, Positions):
        return {"weight": get(m.weight)}
    if isinstance(m, GCNConv):
        return {"weight": get(m.lin.weight), "bias": get(m.lin.bias)}
    if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d,
                      nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm)):
        e = {"weight": get(m.weight)}
        if m.bias is not None:
            e["bias"] = get(m.bias)
        return e
    return None


def buffer_entry(m):
    if isinstance(m, (Residual, Concat)):
        return [buffer_entry(b) for b in m.body]
    if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return {"running_mean": rows(m.running_mean), "running_var": rows(m.running_var)}
    if isinstance(m, GCNConv):
        return {"adjacency": rows(m.adjacency)}
    return None


def has_bn(mods):
    """Whether the model has buffers: batch norm's running statistics, a graph."""
    return any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, GCNConv))
               for s in mods for m in s.modules())


def loss_fn(spec):
    if spec["name"] == "cross_entropy":
        return nn.CrossEntropyLoss(reduction=spec.get("reduction", "mean"))
    if spec["name"] == "mse":
        return nn.MSELoss(reduction=spec.get("reduction", "mean"))
    raise ValueError(spec["name"])


def optimizer(spec, params):
    o = dict(spec)
    name = o.pop("name")
    if "betas" in o:
        o["betas"] = tuple(o["betas"])
    return {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[name](params, **o)


# ---------------------------------------------------------------- robustness checks
class Unstable(Exception):
    pass


MARGIN = 1e-4


def _windows(x, m):
    """Max-pool windows of x (with -inf padding) as [..., window_size]."""
    if isinstance(m, nn.MaxPool1d):
        k, s, p = one(m.kernel_size), one(m.stride), one(m.padding)
        xp = F.pad(x, (p, p), value=-float("inf"))
        return xp.unfold(2, k, s)
    k = m.kernel_size if isinstance(m.kernel_size, tuple) else (m.kernel_size,) * 2
    s = m.stride if isinstance(m.stride, tuple) else (m.stride,) * 2
    p = m.padding if isinstance(m.padding, tuple) else (m.padding,) * 2
    xp = F.pad(x, (p[1], p[1], p[0], p[0]), value=-float("inf"))
    return xp.unfold(2, k[0], s[0]).unfold(3, k[1], s[1]).flatten(-2)


def check_hook(m, inp, out):
    """Rejects a draw where PyTorch and a correct port could take different branches:
    a ReLU input within MARGIN of its kink, or a max-pool window whose two largest values
    are within MARGIN (ties at exactly 0.0 after a ReLU are harmless: no gradient flows)."""
    x = inp[0].detach()
    if isinstance(m, nn.ReLU):
        if (x.abs() < MARGIN).any():
            raise Unstable("relu input near 0")
    else:
        w = _windows(x, m).sort(dim=-1, descending=True).values
        top, second = w[..., 0], w[..., 1]
        close = (top - second) < MARGIN
        if (close & (top != 0)).any():
            raise Unstable("max-pool near tie")


# ---------------------------------------------------------------- case builder
def run_case(name, spec_model, input_shape, mode, loss, opt, x, y, steps):
    modules = [torch_layer(s) for s in spec_model]
    net = nn.Sequential(*modules)
    net.train(mode == "train")
    for m in net.modules():
        if isinstance(m, (nn.ReLU, nn.MaxPool1d, nn.MaxPool2d)):
            m.register_forward_hook(check_hook)
    lf = loss_fn(loss)
    op = optimizer(opt, list(net.parameters()))
    n = len(x)
    shape = input_shape or [len(x[0])]
    tokens = isinstance(modules[0], nn.Embedding)
    if tokens:
        xt = torch.tensor(x, dtype=torch.long).reshape(n, *shape)
    else:
        xt = torch.tensor(x).reshape(n, *shape).requires_grad_(True)
    yt = torch.tensor(y) if isinstance(y[0], list) else torch.tensor(y, dtype=torch.long)
    expect = {}
    # output: a forward before any step, without touching running statistics
    saved = [(b, b.detach().clone()) for b in net.buffers()]
    with torch.no_grad():
        expect["output"] = rows(net(xt).reshape(n, -1))
    for b, v in saved:
        b.copy_(v)
    expect["loss"] = []
    for step in range(steps):
        op.zero_grad()
        if not tokens:
            xt.grad = None
        out = net(xt)
        lv = lf(out, yt)
        expect["loss"].append(rows(lv))
        lv.backward()
        if step == 0:
            expect["input_grad"] = None if tokens else rows(xt.grad.reshape(n, -1))
            expect["grads"] = [param_entry(m, True) for m in modules]
        op.step()
    expect["params"] = [param_entry(m, False) for m in modules]
    if has_bn(modules):
        expect["buffers"] = [buffer_entry(m) for m in modules]
    return expect


def seed_of(name, attempt):
    return (zlib.crc32(name.encode()) + 1_000_003 * attempt) & 0x7FFFFFFF


def make_case(name, build, input_shape=None, mode="train", loss=None, opt=None,
              n=4, classes=3, steps=3, tol=None):
    """build() makes the PyTorch modules (default init, under the case's seed); the input
    and targets are drawn after it from the same seed. A draw that fails the robustness
    checks is redrawn with the next seed (deterministically)."""
    loss = loss or CE
    for attempt in range(50):
        torch.manual_seed(seed_of(name, attempt))
        mods = build()
        spec_model = [spec_of(m) for m in mods]
        shape = input_shape
        feat = 1
        for d in (shape or [mods[0].in_features]):
            feat *= d
        if isinstance(mods[0], nn.Embedding):
            x = [[int(v) for v in r] for r in torch.randint(0, mods[0].num_embeddings, (n, feat))]
        else:
            x = rows(torch.randn(n, feat))
        if loss["name"] == "cross_entropy":
            y = [int(v) for v in torch.randint(0, classes, (n,))]
        else:
            y = rows(torch.randn(n, classes))
        try:
            expect = run_case(name, spec_model, shape, mode, loss, opt, x, y, steps)
        except Unstable:
            continue
        break
    else:
        raise RuntimeError(f"{name}: no stable draw")
    case = {"name": name, "torch_version": torch.__version__}
    if shape is not None:
        case["input_shape"] = shape
    case.update({
        "mode": mode,
        "model": spec_model,
        "loss": loss,
        "optimizer": opt,
        "x": x,
        "y": y,
        "steps": steps,
        "expect": expect,
        "tolerance": tol or tolerance(name),
    })
    text = json.dumps(case, allow_nan=False)
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        f.write(text + "\n")
    return case


CE = {"name": "cross_entropy", "reduction": "mean"}
MSE = {"name": "mse", "reduction": "mean"}
SGD = {"name": "sgd", "lr": 0.05, "momentum": 0.9}
ADAM = {"name": "adam", "lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0}


def affine(m):
    """Moves a norm layer's weight/bias off PyTorch's ones/zeros (else a missing multiply by
    gamma in the input gradient would go unseen at step 0)."""
    with torch.no_grad():
        m.weight.copy_(1 + (torch.rand(m.weight.shape) * 2 - 1) * 0.3)
        m.bias.copy_((torch.rand(m.bias.shape) * 2 - 1) * 0.2)
    return m


def stats(m):
    """Non-trivial starting running statistics."""
    with torch.no_grad():
        m.running_mean.copy_(torch.randn(m.num_features) * 0.5)
        m.running_var.copy_(0.5 + torch.rand(m.num_features) * 1.5)
    return m


def recurrent_cases():
    """rnn (tanh, relu), gru, lstm on [T, F] samples: the last step into a dense head, and a
    stack (every step of the first layer into the second); token embeddings, alone and
    before a GRU."""
    L = nn.Linear
    make_case("layer_rnn_tanh_ce_adam",
              lambda: [Recur(nn.RNN(4, 5, batch_first=True)), L(5, 3)], [6, 4], opt=ADAM)
    make_case("layer_rnn_relu_ce_sgd",
              lambda: [Recur(nn.RNN(4, 5, nonlinearity="relu", batch_first=True)), L(5, 3)],
              [6, 4], opt=SGD)
    make_case("layer_gru_ce_adam",
              lambda: [Recur(nn.GRU(4, 5, batch_first=True)), L(5, 3)], [6, 4], opt=ADAM)
    make_case("layer_gru_long_mse_sgd",
              lambda: [Recur(nn.GRU(3, 4, batch_first=True)), L(4, 2)], [16, 3], loss=MSE,
              opt=SGD, classes=2)
    make_case("layer_lstm_ce_adam",
              lambda: [Recur(nn.LSTM(4, 5, batch_first=True)), L(5, 3)], [6, 4], opt=ADAM)
    make_case("layer_embedding_flatten_ce_adam",
              lambda: [nn.Embedding(10, 4), nn.Flatten(), L(24, 3)], [6], opt=ADAM)
    make_case("layer_embedding_gru_ce_sgd",
              lambda: [nn.Embedding(12, 5), Recur(nn.GRU(5, 6, batch_first=True)), L(6, 3)],
              [7], opt=SGD)
    # SGD: the key projection's bias has a zero gradient in exact arithmetic (a constant
    # added to every key shifts a row of scores, which the softmax ignores), so what both
    # compute there is rounding noise, which Adam would turn into full steps of opposite sign
    make_case("layer_self_attention_ce_sgd",
              lambda: [SelfAttn(4, 2), nn.Flatten(), L(12, 3)], [3, 4], opt=SGD)
    make_case("layer_self_attention_one_head_mse_sgd",
              lambda: [SelfAttn(3, 1), nn.Flatten(), L(15, 2)], [5, 3], loss=MSE, opt=SGD,
              classes=2)
    # a transformer encoder block (post-norm): tokens projected, positions added, attention
    # and a feed-forward block each inside a residual and followed by a layer norm
    make_case("layer_transformer_block_ce_sgd",
              lambda: [L(4, 8), Positions(5, 8), Residual(SelfAttn(8, 2)),
                       affine(nn.LayerNorm(8)), Residual(L(8, 16), nn.ReLU(), L(16, 8)),
                       affine(nn.LayerNorm(8)), nn.Flatten(), L(40, 3)], [5, 4], opt=SGD)
    make_case("layer_gru_lstm_stacked_ce_adam",
              lambda: [Recur(nn.GRU(4, 5, batch_first=True), "sequence"),
                       Recur(nn.LSTM(5, 4, batch_first=True)), L(4, 3)], [6, 4], opt=ADAM)


def main():
    for f in os.listdir(HERE):
        if f.startswith("layer_") and f.endswith(".json"):
            os.remove(os.path.join(HERE, f))
    L = nn.Linear
    C1, C2, CT = nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d
    Fl, R, T = nn.Flatten, nn.ReLU, nn.Tanh

    # ---- conv1d
    make_case("layer_conv1d_default_ce_sgd", lambda: [C1(2, 3, 3), Fl(), L(18, 3)],
              [2, 8], opt=SGD)
    make_case("layer_conv1d_stride2_pad1_ce_adam",
              lambda: [C1(2, 4, 3, stride=2, padding=1), T(), Fl(), L(20, 3)], [2, 9], opt=ADAM)
    make_case("layer_conv1d_dilation2_mse_sgd", lambda: [C1(2, 3, 3, dilation=2), Fl(), L(18, 2)],
              [2, 10], loss=MSE, opt=SGD, classes=2)
    make_case("layer_conv1d_groups2_ce_adam", lambda: [C1(4, 6, 3, groups=2), Fl(), L(30, 3)],
              [4, 7], opt=ADAM)
    make_case("layer_conv1d_depthwise_ce_sgd",
              lambda: [C1(3, 3, 3, groups=3, padding=1), T(), Fl(), L(24, 3)], [3, 8], opt=SGD)
    make_case("layer_conv1d_nobias_ce_adam", lambda: [C1(2, 3, 3, bias=False), Fl(), L(18, 3)],
              [2, 8], opt=ADAM)

    # ---- conv2d
    make_case("layer_conv2d_default_ce_adam", lambda: [C2(1, 2, 3), Fl(), L(32, 3)],
              [1, 6, 6], opt=ADAM)
    make_case("layer_conv2d_stride2_pad1_ce_sgd",
              lambda: [C2(1, 3, 3, stride=2, padding=1), T(), Fl(), L(27, 3)], [1, 6, 6], opt=SGD)
    make_case("layer_conv2d_dilation2_ce_adam", lambda: [C2(1, 2, 3, dilation=2), Fl(), L(18, 3)],
              [1, 7, 7], opt=ADAM)
    make_case("layer_conv2d_groups2_mse_sgd", lambda: [C2(2, 4, 3, groups=2), Fl(), L(36, 2)],
              [2, 5, 5], loss=MSE, opt=SGD, classes=2)
    make_case("layer_conv2d_depthwise_ce_adam",
              lambda: [C2(3, 3, 3, groups=3, padding=1), Fl(), L(48, 3)], [3, 4, 4], opt=ADAM)
    make_case("layer_conv2d_rect_k2x3_s1x2_p1x0_ce_sgd",
              lambda: [C2(2, 3, (2, 3), stride=(1, 2), padding=(1, 0)), T(), Fl(), L(36, 3)],
              [2, 5, 6], opt=SGD)
    make_case("layer_conv2d_nobias_ce_adam", lambda: [C2(1, 2, 3, bias=False), Fl(), L(18, 3)],
              [1, 5, 5], opt=ADAM)

    # ---- conv_transpose2d
    make_case("layer_conv_transpose2d_stride2_ce_adam",
              lambda: [CT(2, 3, 3, stride=2), Fl(), L(147, 3)], [2, 3, 3], opt=ADAM, n=3)
    make_case("layer_conv_transpose2d_stride2_pad1_outpad1_ce_sgd",
              lambda: [CT(2, 3, 3, stride=2, padding=1, output_padding=1), T(), Fl(), L(108, 3)],
              [2, 3, 3], opt=SGD, n=3)
    make_case("layer_conv_transpose2d_rect_k2x3_mse_adam",
              lambda: [CT(2, 3, (2, 3), stride=2), Fl(), L(126, 2)], [2, 3, 3],
              loss=MSE, opt=ADAM, n=3, classes=2)

    # ---- pools: kernel 2 directly on the input; kernel 3 stride 2 padding 1 after a conv
    for kind, P, d in [("maxpool1d", nn.MaxPool1d, 1), ("avgpool1d", nn.AvgPool1d, 1),
                       ("maxpool2d", nn.MaxPool2d, 2), ("avgpool2d", nn.AvgPool2d, 2)]:
        if d == 1:
            make_case(f"layer_{kind}_k2_ce_adam", lambda: [P(2), Fl(), L(8, 3)], [2, 8], opt=ADAM)
            make_case(f"layer_{kind}_k3_s2_p1_ce_sgd",
                      lambda: [C1(2, 3, 3, padding=1), P(3, stride=2, padding=1), Fl(), L(15, 3)],
                      [2, 9], opt=SGD)
        else:
            make_case(f"layer_{kind}_k2_ce_adam", lambda: [P(2), Fl(), L(18, 3)], [2, 6, 6],
                      opt=ADAM)
            make_case(f"layer_{kind}_k3_s2_p1_ce_sgd",
                      lambda: [C2(1, 2, 3, padding=1), P(3, stride=2, padding=1), Fl(), L(32, 3)],
                      [1, 7, 7], opt=SGD)
    make_case("layer_maxpool2d_k2_mse_sgd", lambda: [C2(1, 2, 3), nn.MaxPool2d(2), Fl(), L(18, 2)],
              [1, 8, 8], loss=MSE, opt=SGD, classes=2)

    # ---- global average pool
    make_case("layer_global_avg_pool_conv2d_ce_adam",
              lambda: [C2(1, 4, 3), T(), GlobalAvgPool(), L(4, 3)], [1, 6, 6], opt=ADAM)
    make_case("layer_global_avg_pool_conv1d_ce_sgd",
              lambda: [C1(2, 4, 3), GlobalAvgPool(), L(4, 3)], [2, 8], opt=SGD)

    # ---- flatten between conv and dense (non-square sample, a relu before it)
    make_case("layer_flatten_conv2d_relu_dense_ce_adam",
              lambda: [C2(2, 3, 3), R(), Fl(), L(18, 4)], [2, 5, 4], opt=ADAM, classes=4)

    # ---- batch norm. A conv feeding a train-mode batch norm under Adam has no bias: that
    # bias's gradient is 0 in exact arithmetic, PyTorch rounds it to ~1e-9 and Adam would turn
    # that noise into a full lr step.
    # (dense always has a bias: dense -> batch norm directly is trained with SGD, where that
    # noise stays ~1e-10; the Adam case puts a tanh between them.)
    make_case("layer_batchnorm1d_features_train_ce_sgd",
              lambda: [L(5, 6), affine(nn.BatchNorm1d(6)), R(), L(6, 3)], opt=SGD)
    make_case("layer_batchnorm1d_features_eps_momentum_train_ce_adam",
              lambda: [L(5, 6), T(), affine(nn.BatchNorm1d(6, eps=1e-3, momentum=0.3)), T(),
                       L(6, 3)], opt=ADAM)
    make_case("layer_batchnorm1d_features_eval_ce_adam",
              lambda: [L(5, 6), stats(affine(nn.BatchNorm1d(6))), R(), L(6, 3)],
              mode="eval", opt=ADAM)
    make_case("layer_batchnorm1d_channels_running_train_ce_sgd",
              lambda: [C1(2, 3, 3), stats(affine(nn.BatchNorm1d(3))), R(), Fl(), L(18, 3)],
              [2, 8], opt=SGD)
    make_case("layer_batchnorm1d_channels_eval_mse_sgd",
              lambda: [C1(2, 3, 3), stats(affine(nn.BatchNorm1d(3, eps=1e-4))), T(), Fl(), L(18, 2)],
              [2, 8], mode="eval", loss=MSE, opt=SGD, classes=2)
    make_case("layer_batchnorm2d_train_ce_adam",
              lambda: [C2(1, 3, 3, bias=False), affine(nn.BatchNorm2d(3)), R(), Fl(), L(48, 3)],
              [1, 6, 6], opt=ADAM)
    make_case("layer_batchnorm2d_eps_momentum_running_train_ce_sgd",
              lambda: [C2(2, 3, 3), stats(affine(nn.BatchNorm2d(3, eps=1e-3, momentum=0.25))),
                       T(), Fl(), L(27, 3)], [2, 5, 5], opt=SGD)
    make_case("layer_batchnorm2d_eval_ce_adam",
              lambda: [C2(1, 3, 3), stats(affine(nn.BatchNorm2d(3))), R(), Fl(), L(48, 3)],
              [1, 6, 6], mode="eval", opt=ADAM)

    # ---- layer norm
    make_case("layer_layernorm_features_ce_adam",
              lambda: [L(4, 6), affine(nn.LayerNorm(6)), T(), L(6, 3)], opt=ADAM)
    make_case("layer_layernorm_sequence_ce_sgd",
              lambda: [affine(nn.LayerNorm(4)), Fl(), L(12, 3)], [3, 4], opt=SGD)
    make_case("layer_layernorm_chw_eps_mse_adam",
              lambda: [C2(1, 2, 3), affine(nn.LayerNorm([2, 3, 3], eps=1e-3)), Fl(), L(18, 2)],
              [1, 5, 5], loss=MSE, opt=ADAM, classes=2)

    # ---- dropout (eval only: identity)
    make_case("layer_dropout_eval_ce_sgd",
              lambda: [L(5, 6), R(), nn.Dropout(0.3), L(6, 3)], mode="eval", opt=SGD)
    make_case("layer_dropout_eval_conv2d_ce_adam",
              lambda: [C2(1, 2, 3), nn.Dropout(0.3), Fl(), L(18, 3)], [1, 5, 5], mode="eval",
              opt=ADAM)

    # ---- residual
    make_case("layer_residual_conv2d_ce_adam",
              lambda: [Residual(C2(2, 2, 3, padding=1), R(), C2(2, 2, 3, padding=1)), Fl(),
                       L(50, 3)], [2, 5, 5], opt=ADAM)
    make_case("layer_residual_dense_tanh_ce_sgd",
              lambda: [L(4, 5), Residual(L(5, 5), T()), L(5, 3)], opt=SGD)
    make_case("layer_residual_batchnorm2d_train_ce_sgd",
              lambda: [Residual(C2(2, 2, 3, padding=1), affine(nn.BatchNorm2d(2)), R()), Fl(),
                       L(32, 3)], [2, 4, 4], opt=SGD)

    # ---- concat: [x, body(x)] on the channel axis (the U-Net skip; on [F], the features)
    make_case("layer_concat_unet_ce_adam",
              lambda: [C2(1, 4, 3, padding=1), R(),
                       Concat(nn.MaxPool2d(2), C2(4, 4, 3, padding=1), R(), CT(4, 4, 2, stride=2)),
                       C2(8, 2, 1), Fl(), L(128, 3)], [1, 8, 8], opt=ADAM)
    make_case("layer_concat_dense_tanh_ce_sgd",
              lambda: [L(4, 5), Concat(L(5, 3), T()), L(8, 3)], opt=SGD)
    make_case("layer_concat_batchnorm2d_train_ce_sgd",
              lambda: [Concat(C2(2, 3, 3, padding=1), affine(nn.BatchNorm2d(3)), R()), Fl(),
                       L(80, 3)], [2, 4, 4], opt=SGD)
    # a composite inside a composite: the U-Net level with a residual block at its bottom
    make_case("layer_concat_nested_residual_ce_adam",
              lambda: [C2(1, 3, 3, padding=1), R(),
                       Concat(nn.MaxPool2d(2),
                              Residual(C2(3, 3, 3, padding=1), R()),
                              CT(3, 2, 2, stride=2)),
                       Fl(), L(320, 3)], [1, 8, 8], opt=ADAM)

    # ---- a small CNN (PyTorch defaults everywhere, conv before batch norm without bias)
    make_case("layer_cnn_train_ce_adam",
              lambda: [C2(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), R(),
                       nn.MaxPool2d(2), C2(4, 6, 3, padding=1), R(), GlobalAvgPool(), L(6, 3)],
              [1, 8, 8], opt=ADAM)

    recurrent_cases()
    graph_cases()


# A directed, weighted graph of 5 nodes (row i: what node i receives from each node j):
# node 2 has a self loop of its own (A + I gives it 2), node 4 no edges (its row is x W^T + b),
# node 3 only sends (column 3), weights 0.5 and 2 (the degrees are row sums of A + I).
DIRECTED = [[0.0, 1.0, 0.5, 0.0, 0.0],
            [1.0, 0.0, 0.0, 2.0, 0.0],
            [0.5, 0.0, 1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.0, 0.0]]
# An undirected 0/1 graph of 6 nodes: a triangle 0-1-2 joined by 2-3 to a path 3-4-5.
UNDIRECTED = [[0, 1, 1, 0, 0, 0],
              [1, 0, 1, 0, 0, 0],
              [1, 1, 0, 1, 0, 0],
              [0, 0, 1, 0, 1, 0],
              [0, 0, 0, 1, 0, 1],
              [0, 0, 0, 0, 1, 0]]


def graph_cases():
    """gcn_conv on a directed weighted graph (node outputs, flattened, MSE); and a graph
    classifier: two gcn_conv on an undirected graph, graph_mean_pool, dense (CE)."""
    for f in os.listdir(HERE):
        if f.startswith("layer_gcn_") and f.endswith(".json"):
            os.remove(os.path.join(HERE, f))
    und = [[float(v) for v in r] for r in UNDIRECTED]
    make_case("layer_gcn_conv_directed_weighted_mse_sgd",
              lambda: [GCNConv(3, 4, DIRECTED), nn.Tanh(), GCNConv(4, 2, DIRECTED), nn.Flatten()],
              [5, 3], loss=MSE, opt=SGD, classes=10)
    make_case("layer_gcn_conv_graph_mean_pool_ce_adam",
              lambda: [GCNConv(3, 8, und), nn.ReLU(), GCNConv(8, 4, und), nn.ReLU(),
                       GraphMeanPool(), nn.Linear(4, 3)],
              [6, 3], opt=ADAM)


if __name__ == "__main__":
    import sys
    if sys.argv[1:] == ["recurrent"]:
        recurrent_cases()
    elif sys.argv[1:] == ["graph"]:
        graph_cases()
    else:
        main()
    print(len([f for f in os.listdir(HERE) if f.startswith("layer_")]), "layer cases written")
