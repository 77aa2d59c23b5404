# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 — CPU against GPU: the benchmark on the machine it runs on
#
# `twinmlp bench` times whole float32 training epochs of a 784-256-10 network for both twins
# and two anchors — torch's own `nn.Sequential` + autograd + `optim.SGD`, and scikit-learn's
# `MLPClassifier(solver="sgd")` — over a range of batch sizes, beside the *floor*: the first
# layer's two products (`X_b @ W1` and `X_bᵀ @ G1`) alone, in the same library, which no
# implementation of the step can beat. The cells of one batch size and library and their
# floor are timed in rounds, one epoch of each per round, so they see the same load. Each
# cell is also put against the float32 matmul peak measured in the same run. This notebook
# calls the same functions (`twinmlp.bench`) and reads what they measured.
#
# **Settings.** Saved outputs: 4,096 random rows of MNIST shape, batch sizes 128 to 2,048,
# two timed epochs per cell after one warm-up. Under `TWINMLP_NOTEBOOK_QUICK=1` (the test
# suite): 1,024 rows, batch sizes 128 and 1,024, one timed epoch, no warm-up. Timings depend on the
# machine and on what else runs on it: the machine line and the load are printed first, and
# the sentences below are generated from the measured numbers.

# %%
import os
import re
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Markdown, display

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm, when quiet
from twinmlp import bench  # noqa: E402

QUICK = os.environ.get("TWINMLP_NOTEBOOK_QUICK") == "1"
plt.rcParams.update({"figure.dpi": 80, "savefig.dpi": 80})
SAMPLES = 1024 if QUICK else 4096
BATCHES = [128, 1024] if QUICK else [128, 512, 2048]
WARMUP, REPEATS = (0, 1) if QUICK else (1, 2)
DEVICES = ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]
print("settings:", "QUICK (CI)" if QUICK else "full",
      f"| {SAMPLES} rows, batch sizes {BATCHES}, warm-up {WARMUP}, repeats {REPEATS}, "
      f"devices {DEVICES}")
print(bench.machine_line(bench.machine()))
print("load average (1, 5, 15 min):", os.getloadavg())


def say(text: str) -> None:
    display(Markdown(text))


# %% [markdown]
# ## The grid, measured here

# %%
rng = np.random.default_rng(0)
X = rng.standard_normal((SAMPLES, 784)).astype(np.float32)
y = rng.integers(0, 10, size=SAMPLES)
planned = bench.plan(["numpy", "torch"], DEVICES, BATCHES, [[256]], anchors=True)
if torch.cuda.is_available():
    from twinmlp.torch_impl.cuda import exact_cuda_numerics  # README: CUDA numerics

    with exact_cuda_numerics():
        measured, peaks = bench.run_bench(X, y, 10, planned, WARMUP, REPEATS, verbose=False)
else:
    measured, peaks = bench.run_bench(X, y, 10, planned, WARMUP, REPEATS, verbose=False)
display(Markdown(bench.table(measured, peaks)))

# %% [markdown]
# Columns: seconds per epoch (median over the rounds, and the range), **× floor** (the
# epoch's time over the floor's epoch of the same round, the median over the rounds),
# samples per second, and GFLOP/s with the share of the measured peak. Below the grid, each
# twin's speed-up over its anchor, also round by round.

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for colour, impl in enumerate(dict.fromkeys(c.impl for c in measured)):
    for device in DEVICES:
        rows = [c for c in measured if c.impl == impl and c.device == device]
        if not rows:
            continue
        label = f"{impl} ({device})"
        style = ":" if impl.startswith("floor") else ("--" if "impl" not in impl else "-")
        axes[0].plot([c.batch_size for c in rows], [c.samples_per_second for c in rows],
                     style, marker="o", color=f"C{colour}", label=label)
        if not impl.startswith("floor"):
            axes[1].plot([c.batch_size for c in rows], [c.floor_ratio for c in rows], style,
                         marker="o", color=f"C{colour}", label=label)
axes[0].set(xscale="log", yscale="log", xlabel="batch size", ylabel="samples / s",
            title="throughput (the floor: first layer's two products alone)")
axes[1].set(xscale="log", xlabel="batch size", ylabel="epoch time / floor time",
            title="distance from the floor")
axes[1].axhline(1, color="grey", lw=0.8)
for ax in axes:
    ax.set_xticks(BATCHES, [str(b) for b in BATCHES], minor=False)
    ax.minorticks_off()
    ax.legend(fontsize=7)
fig.tight_layout()
plt.show()

# %%
by = {(c.impl, c.device, c.batch_size): c for c in measured}
small, large = BATCHES[0], BATCHES[-1]
twin = {name: (by[(f"{name}_impl", "cpu", small)], by[(f"{name}_impl", "cpu", large)])
        for name in ("numpy", "torch")}
speed = {(r["impl"], r["batch_size"]): r["speedup"] for r in bench.speedups(measured)
         if r["device"] == "cpu"}
say(f"On this CPU the numpy twin goes from {twin['numpy'][0].samples_per_second:,.0f} "
    f"samples/s at batch {small} to {twin['numpy'][1].samples_per_second:,.0f} at batch "
    f"{large} ({twin['numpy'][0].floor_ratio:.1f}× and {twin['numpy'][1].floor_ratio:.1f}× "
    f"the floor), the torch twin from {twin['torch'][0].samples_per_second:,.0f} to "
    f"{twin['torch'][1].samples_per_second:,.0f} ({twin['torch'][0].floor_ratio:.1f}× and "
    f"{twin['torch'][1].floor_ratio:.1f}×); the CPU's measured float32 peak is "
    f"{peaks['cpu']:.0f} GFLOP/s, of which the twins reach "
    f"{100 * twin['numpy'][1].peak_fraction:.0f} % (numpy) and "
    f"{100 * twin['torch'][1].peak_fraction:.0f} % (torch) at batch {large}. Against their "
    f"anchors (the anchor's time over the twin's): numpy_impl against scikit-learn "
    f"{speed[('numpy_impl', small)]:.2f}× at batch {small} and "
    f"{speed[('numpy_impl', large)]:.2f}× at {large}; torch_impl against torch-autograd "
    f"{speed[('torch_impl', small)]:.2f}× and {speed[('torch_impl', large)]:.2f}×.")
spread = max((c.seconds_max - c.seconds_min) / c.seconds_per_epoch for c in measured)
load = os.getloadavg()[0] / (os.cpu_count() or 1)
if spread > 0.3 or load > 1:
    say(f"**Read these figures as this machine's state, not the code's:** the load average "
        f"is {load:.1f} per core, and one cell's repeats spread over {100 * spread:.0f} % of "
        f"its median. The figures measured on an idle machine are in docs/benchmarks.md "
        f"(printed below).")

# %% [markdown]
# What to look for: at small batches each step's fixed cost (Python, dispatch, small
# products that use the cores poorly) dominates, and the ratio to the floor is large; as the
# batch grows the products take over and the floor sets the pace. The recorded figures of an
# idle run (the same grid on 60,000 rows), from docs/benchmarks.md:

# %%
DOCS = Path.cwd().parent / "docs" / "benchmarks.md"
section = re.search(r"^### 784-256-10 on .*?(?=^### )", DOCS.read_text(), re.S | re.M)
lines = section.group(0).split("\n**")[0].splitlines() if section else []  # up to the notes
print("\n".join(line for line in lines if line.startswith(("###", "Recorded", "|")))
      or "(no such section in docs/benchmarks.md)")

# %% [markdown]
# ## CPU against GPU

# %%
if torch.cuda.is_available():
    print(torch.cuda.get_device_name(), f"float32 matmul peak {peaks['cuda']:.0f} GFLOP/s")
    print(f"{'batch':>6} {'cpu s/epoch':>12} {'cuda s/epoch':>13} {'cpu / cuda':>11}")
    for batch in BATCHES:
        cpu, gpu = by[("torch_impl", "cpu", batch)], by[("torch_impl", "cuda", batch)]
        print(f"{batch:>6} {cpu.seconds_per_epoch:>12.4f} {gpu.seconds_per_epoch:>13.4f} "
              f"{cpu.seconds_per_epoch / gpu.seconds_per_epoch:>10.1f}×")
else:
    print("No CUDA GPU on this machine: torch.cuda.is_available() is False.")
    print("What docs/benchmarks.md records for GPUs:\n")
    text = DOCS.read_text()
    section = re.search(r"^## GPU\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    print(section.group(1).strip() if section else "(no GPU section in docs/benchmarks.md)")

# %% [markdown]
# What to expect there: the fixed cost per step (a kernel launch is microseconds) does not
# shrink with the batch, while the products do: a small batch leaves the GPU idle most of the step,
# and the CPU/GPU ratio grows with the batch size until the GPU's products dominate.
# Run this notebook (or `scripts/gpu_check.sh`) on a machine with a CUDA GPU to get the
# CUDA rows and the ratio per batch size measured, rather than described.
