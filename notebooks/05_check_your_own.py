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
# # 05 — Check your own MLP
#
# The project began as a course exercise: write an MLP from scratch — `W1, b1, W2, b2` as
# attributes, a `forward(X)` that returns probabilities, a `backward(X, y)` that applies one
# SGD step with L2 in place — and then wonder whether it is right. `twinmlp check` answers
# that: it puts the reference's initial parameters into your class and compares it with the
# reference quantity by quantity, names the first quantity that differs and, from the
# pattern of the difference, the likely mistake (docs/check.md).
#
# Here: a course-style class with one mistake planted, the report, the fix, the passing
# report. The check runs as a command, exactly as you would type it. This notebook runs in
# seconds and has no quick settings.

# %%
import subprocess
import sys
import tempfile
from pathlib import Path

FOLDER = Path(tempfile.mkdtemp(prefix="twinmlp-05-"))


def check(*arguments: str) -> int:
    """Run `twinmlp check ARGUMENTS…` in FOLDER; print what it prints; its exit code."""
    done = subprocess.run([sys.executable, "-m", "twinmlp", "check", *arguments],
                          cwd=FOLDER, capture_output=True, text=True)
    print(done.stdout + done.stderr)
    print("exit code", done.returncode)
    return done.returncode


# %% [markdown]
# ## A course-style class, with one mistake
#
# This is the class a student might hand in. It looks right, trains, and reaches a good
# accuracy. One line is wrong: the update loop decays *every* parameter, biases included,
# where MATH.md §6 decays the weights only.

# %%
SOURCE = '''
import numpy as np


class MLP:
    def __init__(self, input_size, hidden_size, output_size, learning_rate=0.01,
                 weight_decay=0.0, alpha=0.01):
        rng = np.random.default_rng(0)
        self.W1 = rng.normal(0, np.sqrt(2 / input_size), (input_size, hidden_size))
        self.b1 = np.zeros(hidden_size)
        self.W2 = rng.normal(0, np.sqrt(2 / hidden_size), (hidden_size, output_size))
        self.b2 = np.zeros(output_size)
        self.learning_rate, self.weight_decay, self.alpha = learning_rate, weight_decay, alpha
        self.n_train = None  # the training-set size N of the L2 term

    def forward(self, X):
        self.Z1 = X @ self.W1 + self.b1
        self.A1 = np.where(self.Z1 > 0, self.Z1, self.alpha * self.Z1)
        self.Z2 = self.A1 @ self.W2 + self.b2
        E = np.exp(self.Z2 - self.Z2.max(axis=1, keepdims=True))
        self.P = E / E.sum(axis=1, keepdims=True)
        return self.P

    def backward(self, X, y):
        n = len(X)
        G2 = (self.P - np.eye(self.P.shape[1])[y]) / n
        G1 = (G2 @ self.W2.T) * np.where(self.Z1 > 0, 1.0, self.alpha)
        grads = {"W1": X.T @ G1, "b1": G1.sum(0), "W2": self.A1.T @ G2, "b2": G2.sum(0)}
        decay = self.weight_decay / (self.n_train or n)
        for name, grad in grads.items():
            value = getattr(self, name)
            setattr(self, name, value - self.learning_rate * (grad + decay * value))
'''
(FOLDER / "mlp.py").write_text(SOURCE)

# %% [markdown]
# ## The report
#
# The check finds the class, builds it as `MLP(64, 32, 10)` (it tries `MLP([64, 32, 10])`
# first), finds the learning-rate and weight-decay attributes and the training-set size it
# must set, then compares. The forward pass and the gradients without L2 agree to the last
# bit; the first difference is the bias rows with L2, and the diagnosis names the mistake
# with its evidence: the bias gradients carry exactly `λ/N · b`.

# %%
code = check("mlp.py")
assert code == 1

# %% [markdown]
# Each row's error is the relative error `‖yours − reference‖ / ‖reference‖` of the worst
# tensor, against the tolerance of its tier (docs/parity.md). Everything after the first
# failure is still computed: the one step, the ten steps and the short run differ too,
# because they carry the same mistake. The central-difference row is independent of the
# reference — it differentiates the class's own `forward` — and passes: the mistake is in
# the update, not in the gradient.
#
# ## The fix
#
# Decay the weights only:

# %%
FIXED = SOURCE.replace("(grad + decay * value)",
                       "(grad + (decay * value if name[0] == 'W' else 0))")
assert FIXED != SOURCE
(FOLDER / "mlp.py").write_text(FIXED)
code = check("mlp.py")
assert code == 0

# %% [markdown]
# ## Many submissions at once
#
# With several targets the check prints one line per target, runs each in a process of its
# own with a time limit (so one that hangs or calls `os._exit` cannot stop the others),
# exits with the worst code, and `--json` writes every report for a grading script.

# %%
(FOLDER / "decays_biases.py").write_text(SOURCE)
(FOLDER / "hangs.py").write_text(FIXED.replace("        n = len(X)\n",
                                               "        n = len(X)\n        while True:\n"
                                               "            pass\n"))
code = check("mlp.py", "decays_biases.py", "hangs.py", "--timeout", "20",
             "--json", "grades.json")
assert code == 2

# %% [markdown]
# To start from an empty skeleton: `twinmlp exercise numpy my_mlp/` writes `mlp.py` with
# `forward` and `backward` left as TODO, a training script and a README. To see the check
# on real libraries: `twinmlp check torch-nn` and `twinmlp check sklearn`
# (`examples/` has a runnable example for each protocol).
