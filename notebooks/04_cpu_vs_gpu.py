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
import statistics
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Markdown, display
from matplotlib.ticker import FuncFormatter, LogLocator

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


DOCS = Path.cwd().parent / "docs"


def quote_docs(name: str, passage: str) -> None:
    """Show a passage of docs/NAME as it reads now (a test compares saved quotes with it)."""
    display(Markdown(f"*Quoted from `docs/{name}` as it reads now:*\n\n{passage}"))


def doc_paragraphs(name: str, heading: str) -> list[str]:
    """The paragraphs of the section of docs/NAME whose heading line starts with
    ``heading``, up to the next heading of the same level."""
    level = heading.split(" ")[0]
    lines = (DOCS / name).read_text().splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(heading)), None)
    if start is None:
        return []
    end = next((i for i in range(start + 1, len(lines))
                if lines[i].startswith(level + " ")), len(lines))
    text = "\n".join(lines[start:end])
    return [block.strip() for block in re.split(r"\n\s*\n", text) if block.strip()]


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


def floor_of(cell):
    """The floor row timed in the same rounds as ``cell``."""
    return next(f for f in measured if f.role == "floor" and f.device == cell.device
                and f.batch_size == cell.batch_size and f.layers == cell.layers
                and statistics.median(f.epoch_seconds) == cell.floor_seconds)


def grid_table() -> tuple[str, list[str]]:
    """The grid as Markdown: every ratio to the floor is paired (round by round), and a
    cell that beat its floor in some round is flagged instead of being read as fast."""
    rows = ["| implementation | device | batch | s/epoch (median) | min–max "
            "| × floor, median of rounds | × floor, round by round | samples/s | % of peak |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    disturbed = []
    for c in measured:
        if c.role == "floor":
            ratio, spread = "1 (the floor)", "—"
        else:
            per_round = [t / f for t, f in zip(c.epoch_seconds, floor_of(c).epoch_seconds,
                                               strict=True)]
            ratio = f"{c.floor_ratio:.2f}"
            spread = f"{min(per_round):.2f}–{max(per_round):.2f}"
            if min(per_round) < 1 or c.seconds_per_epoch < c.floor_seconds:
                ratio += " ⚠"
                disturbed.append(f"{c.impl} ({c.device}, batch {c.batch_size}): "
                                 f"{spread}× its floor round by round")
        rows.append(f"| {c.impl} | {c.device} | {c.batch_size} | {c.seconds_per_epoch:.4g} "
                    f"| {c.seconds_min:.4g}–{c.seconds_max:.4g} | {ratio} | {spread} "
                    f"| {c.samples_per_second:,.0f} | {100 * c.peak_fraction:.1f} |")
    return "\n".join(rows), disturbed


grid, disturbed = grid_table()
say("float32 matmul peak measured in this run: "
    + ", ".join(f"{d} {p:.0f} GFLOP/s" for d, p in peaks.items()) + "\n\n" + grid)
if disturbed:
    say("⚠ **Disturbed measurement.** No implementation of the step can be faster than its "
        "floor (the same products and more), so a round in which one was means the machine "
        "slowed the floor's epoch in that round — the figures of these cells say more "
        "about the load than about the code: " + "; ".join(disturbed) + ".")
say("| twin | anchor | device | batch | twin's speed-up, median of rounds | round by round |\n"
    "|---|---|---|---:|---:|---:|\n"
    + "\n".join(f"| {r['impl']} | {r['anchor']} | {r['device']} | {r['batch_size']} | "
                 f"{r['speedup']:.2f}× | {r['speedup_min']:.2f}–{r['speedup_max']:.2f}× |"
                 for r in bench.speedups(measured)))

# %% [markdown]
# Columns: seconds per epoch (median over the rounds, and the range), **× floor** (the
# epoch's time over the floor's epoch *of the same round*, the median over the rounds, and
# its range), samples per second, and the share of the measured float32 peak. A ratio is
# taken round by round because the two epochs of one round ran side by side under the same
# load; the medians of the s/epoch column come from different rounds and need not agree
# with it on a busy machine. ⚠ marks a cell that beat its floor in some round: a disturbed
# measurement. Below the grid, each twin's speed-up over its anchor, also round by round.

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
# A log axis spanning less than a decade gets one major tick: label 1-2-5 steps instead.
axes[0].yaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
axes[0].yaxis.set_minor_locator(LogLocator(subs=(1, 2, 5)))
axes[0].yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
axes[0].yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
axes[1].set(xscale="log", xlabel="batch size", ylabel="epoch time / floor time",
            title="distance from the floor (paired, median of rounds)")
axes[1].axhline(1, color="grey", lw=0.8)
for ax in axes:
    ax.set_xticks(BATCHES, [str(b) for b in BATCHES], minor=False)
    ax.xaxis.set_minor_locator(plt.NullLocator())
    ax.grid(True, which="major", lw=0.3)
handles, labels = axes[0].get_legend_handles_labels()
fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=10, frameon=False)
fig.tight_layout(rect=(0, 0.16, 1, 1))
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
        f"(quoted below).")

# %% [markdown]
# What to look for: at small batches each step's fixed cost (Python, dispatch, small
# products that use the cores poorly) dominates, and the ratio to the floor is large; as the
# batch grows the products take over and the floor sets the pace. The recorded figures of an
# idle run (the same grid on 60,000 rows), from docs/benchmarks.md:

# %%
recorded = [block for block in doc_paragraphs("benchmarks.md", "### 784-256-10 on ")
            if block.startswith(("###", "Recorded", "|"))]
if recorded:
    quote_docs("benchmarks.md", "\n\n".join(recorded).replace("### ", "#### ", 1))
else:
    print("(no such section in docs/benchmarks.md)")

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
    gpu = doc_paragraphs("benchmarks.md", "## GPU")[1:]  # without the heading
    if gpu:
        quote_docs("benchmarks.md", "\n\n".join(gpu))
    else:
        print("(no GPU section in docs/benchmarks.md)")

# %% [markdown]
# What to expect there: the fixed cost per step (a kernel launch is microseconds) does not
# shrink with the batch, while the products do: a small batch leaves the GPU idle most of the step,
# and the CPU/GPU ratio grows with the batch size until the GPU's products dominate.
# Run this notebook (or `scripts/gpu_check.sh`) on a machine with a CUDA GPU to get the
# CUDA rows and the ratio per batch size measured, rather than described.

# %% [markdown]
# ## Exercises
#
# Each says what to look for; the answer is folded away below it.
#
# **1. Count the work.** Using the rule in `twinmlp.bench`'s docstring ($2\,n\,
# \text{fan\_in}\,\text{fan\_out}$ per product; forward, weight gradient, and input gradient
# for every layer but the first), count the FLOPs per sample of one training step of
# 784-256-10, and of the floor. What share of the step is the floor? Check with
# `bench.flops_per_sample([784, 256, 10])` and `bench.floor_flops_per_sample(...)`.
#
# <details><summary>Answer</summary>
#
# The step: $2\,(2\cdot784\cdot256 + 2\cdot256\cdot10) + 2\cdot256\cdot10 =$ **818,176**;
# the floor, the first layer's two products: $2 \cdot 2\cdot784\cdot256 =$ **802,816**, or
# **98.1 %** of the step. So an epoch can be at most about 2 % faster than its floor even
# with every other operation free: a ratio below 0.98 is a disturbed measurement, and a
# ratio of 1.5 means half the time is spent outside those two products.
# </details>
#
# **2. Paired or not.** For each twin at the largest batch, print the ratio of the medians,
# `c.seconds_per_epoch / c.floor_seconds`, beside the paired ratio `c.floor_ratio` (the
# cells are in `measured`). When do they differ, and which one does the table show?
#
# <details><summary>Answer</summary>
#
# On an idle machine they agree within a few per cent. Under load they part: the median
# epoch of the twin and the median epoch of the floor can come from different rounds, so
# their ratio mixes the code with the machine's drift — it can even fall below 1, which is
# the contradiction the table avoids. The paired ratio divides two epochs of the *same*
# round, which saw the same load; the table and the plot show only that one, with its
# range over the rounds, and ⚠ where a round had the twin beat its floor.
# </details>
#
# **3. Small batches.** Before looking at the recorded table quoted above: will a twin's
# distance from the floor be larger at batch 32 or at batch 2,048, and why? Then check
# the rows.
#
# <details><summary>Answer</summary>
#
# Larger at batch 32, for every implementation in the recorded table: each step has a fixed
# cost (Python, dispatch, the small second layer, products too small to use the cores well)
# that does not shrink with the batch, and at batch 32 an epoch has 64 times as many steps
# as at 2,048. As the batch grows the two big products take over and every row moves
# towards the floor — how close it gets is what the optimisations in docs/benchmarks.md
# are about.
# </details>

