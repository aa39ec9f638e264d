#!/usr/bin/env python3
"""neurite against PyTorch, side by side in one run, on one thread.

Runs `neurite bench --json` (the standard suite: host/src/bench.rs) and the same cases in
PyTorch on the CPU with one thread (same shapes, batch, loss, optimiser and timing method:
the median of rounds of about 20 ms after a warm-up), then prints, per case, both times in
microseconds per batch and the ratio PyTorch / neurite (above 1: neurite is faster), with
the issue's target and whether it is met. The 1024^3 product is compared with PyTorch's
and with one core's peak for separate multiplies and adds that `neurite bench` measures in
the same run (`peak_gflops`: a loop of independent multiply and add chains, no memory
traffic; `--peak-gflops` overrides it).

    pip install torch --index-url https://download.pytorch.org/whl/cpu   # once
    python3 benches/compare_pytorch.py [--neurite target/release/neurite] [--rounds 7]

Without --neurite it builds and runs `cargo run --release -p neurite-host -- bench --json`.

--gpu compares the GPU path instead: `neurite bench --device gpu --json` (a binary built with
`--features gpu`; one Adam training step of the MLP 512-512-512-10 at batches 64, 256 and
1024, with the CPU's step beside it) against PyTorch on CUDA when `torch.cuda.is_available()`
(the same step, timed with `torch.cuda.synchronize()` after each round), and prints the
issue's targets: the GPU step at least 10x the CPU's at batch 1024, and within 2x of
PyTorch CUDA's time on the same card.

    python3 benches/compare_pytorch.py --gpu [--neurite target/release/neurite]
"""

import argparse
import json
import subprocess
import sys
import time

# (case name prefix, minimum PyTorch / neurite ratio) from the issue "Performance"
TARGETS = [
    ("mlp-4-16-3-b1-", 100.0),
    ("mlp-4-16-3-b16-", 100.0),
    ("mlp-64-64-10-b32-train", 10.0),
    ("mlp-64-64-10-b32-inference", 3.0),
    ("mlp-784-128-10-b64-train", 1.5),
    ("mlp-512-512-512-10-b64-train", 1.2),
    ("digits-cnn-b32-train", 3.0),
]

DIGITS_CNN = "digits-cnn"


def target_for(name):
    for prefix, ratio in TARGETS:
        if name.startswith(prefix):
            return ratio
    return None


def time_us(fn, rounds):
    """The median round's microseconds per call, rounds of about 20 ms after a warm-up."""
    start = time.perf_counter()
    calls = 0
    while calls < 3 or time.perf_counter() - start < 0.02:
        fn()
        calls += 1
    per_call = (time.perf_counter() - start) / calls
    per_round = max(1, int(0.02 / per_call))
    times = []
    for _ in range(max(1, rounds)):
        t = time.perf_counter()
        for _ in range(per_round):
            fn()
        times.append((time.perf_counter() - t) * 1e6 / per_round)
    times.sort()
    return times[len(times) // 2]


def time_cuda_us(torch, fn, rounds):
    """time_us for CUDA work: rounds of about 50 ms, each ended by a synchronize."""
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    per_round = max(3, int(0.05 / ((time.perf_counter() - start) / 3)))
    times = []
    for _ in range(max(1, rounds)):
        t = time.perf_counter()
        for _ in range(per_round):
            fn()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - t) * 1e6 / per_round)
    times.sort()
    return times[len(times) // 2]


def torch_cuda_step_us(torch, case, rounds):
    """One Adam step of the case's MLP on CUDA, or None without CUDA."""
    if not torch.cuda.is_available():
        return None
    dev = torch.device("cuda")
    model, sample = torch_model(torch, case["shape"])
    model = model.to(dev)
    batch = case["batch"]
    x = torch.randn(batch, *sample, device=dev)
    y = torch.arange(batch, device=dev) % case["shape"][-1]
    loss_fn = torch.nn.CrossEntropyLoss()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    return time_cuda_us(torch, step, rounds)


def gpu_main(args, torch, cmd):
    out = subprocess.run(cmd + ["bench", "--device", "gpu", "--json", "--rounds", str(args.rounds)],
                         check=True, capture_output=True, text=True).stdout
    cases = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    gpu_cases = [c for c in cases if c.get("device")]
    if gpu_cases:
        print(f"neurite's {gpu_cases[0]['device']}; PyTorch {torch.__version__}"
              f"{' on ' + torch.cuda.get_device_name(0) if torch.cuda.is_available() else ' (no CUDA)'}")
    print(f"{'case':<42}{'CPU us':>12}{'GPU us':>12}{'GPU/CPU':>9}{'CUDA us':>12}{'CUDA/GPU':>10}  target")
    missed = []
    cpu_us = {c["name"]: c["us_per_batch"] for c in cases if not c.get("device")}
    for case in gpu_cases:
        cpu = cpu_us.get(case["name"][: -len("-gpu")])
        ours = case["us_per_batch"]
        theirs = torch_cuda_step_us(torch, case, args.rounds)
        verdicts = []
        if case["batch"] == 1024:
            met = case["speedup"] >= 10.0
            verdicts.append(f"GPU >= 10x CPU {'met' if met else 'MISSED'}")
            if not met:
                missed.append(case["name"] + " (10x the CPU)")
        if theirs is not None:
            met = theirs / ours >= 0.5
            verdicts.append(f"within 2x of CUDA {'met' if met else 'MISSED'}")
            if not met:
                missed.append(case["name"] + " (2x of CUDA)")
        cuda = f"{theirs:>12.1f}{theirs / ours:>10.2f}" if theirs is not None else f"{'-':>12}{'-':>10}"
        print(f"{case['name']:<42}{cpu:>12.1f}{ours:>12.1f}{case['speedup']:>9.2f}{cuda}  {'; '.join(verdicts)}")
    print("every target met" if not missed else f"targets missed: {', '.join(missed)}")


def torch_model(torch, shape):
    nn = torch.nn
    if shape == DIGITS_CNN:
        return nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(32 * 2 * 2, 10),
        ), (1, 8, 8)
    layers = []
    for i, (a, b) in enumerate(zip(shape, shape[1:])):
        layers.append(nn.Linear(a, b))
        if i + 2 < len(shape):
            layers.append(nn.ReLU())
    return nn.Sequential(*layers), (shape[0],)


def torch_case(torch, case, rounds):
    if case["kind"] == "matmul":
        m, k, n = case["shape"]
        a, b = torch.randn(m, k), torch.randn(n, k)
        with torch.no_grad():
            return time_us(lambda: torch.matmul(a, b.t()), rounds)
    model, sample = torch_model(torch, case["shape"])
    batch = case["batch"]
    x = torch.randn(batch, *sample)
    classes = 10 if case["shape"] == DIGITS_CNN else case["shape"][-1]
    y = torch.arange(batch) % classes
    if case["kind"] == "inference":
        model.eval()
        with torch.no_grad():
            return time_us(lambda: model(x), rounds)
    model.train()
    loss_fn = torch.nn.CrossEntropyLoss()
    if case["optimizer"] == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    return time_us(step, rounds)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--neurite", help="the neurite binary (default: cargo run --release)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--gpu", action="store_true",
                        help="compare `neurite bench --device gpu` with PyTorch on CUDA")
    parser.add_argument("--peak-gflops", type=float, default=None,
                        help="one core's peak GFLOP/s for separate multiply and add (default: measured)")
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        sys.exit("compare_pytorch.py needs PyTorch: pip install torch --index-url https://download.pytorch.org/whl/cpu")
    torch.set_num_threads(1)
    torch.manual_seed(0)
    if args.neurite:
        cmd = [args.neurite]
    else:
        cmd = ["cargo", "run", "--quiet", "--release", "-p", "neurite-host"]
        cmd += (["--features", "gpu"] if args.gpu else []) + ["--"]
    if args.gpu:
        return gpu_main(args, torch, cmd)
    out = subprocess.run(cmd + ["bench", "--json", "--rounds", str(args.rounds)], check=True,
                         capture_output=True, text=True).stdout
    cases = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    print(f"PyTorch {torch.__version__}, one thread; neurite: {' '.join(cmd)}")
    print(f"{'case':<36}{'neurite us':>14}{'PyTorch us':>14}{'ratio':>10}  target")
    missed = []
    for case in cases:
        theirs = torch_case(torch, case, args.rounds)
        ratio = theirs / case["us_per_batch"]
        target = target_for(case["name"])
        verdict = ""
        if target is not None:
            met = ratio >= target
            verdict = f">= {target:g}x {'met' if met else 'MISSED'}"
            if not met:
                missed.append(case["name"])
        if case["kind"] == "matmul":
            verdict = f"{case['gflops']:.1f} GFLOP/s"
            peak = args.peak_gflops or case.get("peak_gflops")
            if peak:
                share = case["gflops"] / peak
                verdict += f" = {100 * share:.0f}% of the {peak:.1f} GFLOP/s peak (target 75%)"
                if share < 0.75:
                    missed.append(case["name"])
        print(f"{case['name']:<36}{case['us_per_batch']:>14.3f}{theirs:>14.3f}{ratio:>10.2f}  {verdict}")
    print("every target met" if not missed else f"targets missed: {', '.join(missed)}")


if __name__ == "__main__":
    main()
