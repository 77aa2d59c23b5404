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
# # 02 — One mini-batch through backpropagation, both twins side by side
#
# One batch of digits goes forward and backward through a 64-16-10 leaky-ReLU network in
# float64. Each quantity of `shared/MATH.md` §1–§5 is shown as a formula and compared four
# ways: the NumPy twin against the torch twin, against `torch.autograd` on the same network
# written with `torch.nn.functional`, and against central differences. Then one SGD step with
# the L2 term (§6, §7). The code shown is the project's own, read from its source by
# `twinmlp.show.notebook_view` (the `twinmlp show NAME` command as two HTML columns, a row per
# line, `≠` beside the lines that differ; where a viewer shows no HTML, the two versions
# stacked): first the plain twins
# (`numpy_impl/plain.py`, `torch_impl/plain.py`: one formula of MATH.md a line), then the fast
# path that training runs, which computes the same values, with a line per difference saying
# why it is faster (the measurements are in `docs/benchmarks.md`, "Why the fast path is written
# as it is"). This notebook runs in seconds and has no quick settings.

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as TF
from IPython.display import Markdown, display

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm, when quiet
from twinmlp import numpy_impl, torch_impl  # noqa: E402
from twinmlp.arrays import to_numpy  # noqa: E402
from twinmlp.numpy_impl import functional as NF  # noqa: E402
from twinmlp.parity import relative_error  # noqa: E402
from twinmlp.shared.data import load_digits  # noqa: E402
from twinmlp.show import notebook_view  # noqa: E402

plt.rcParams.update({"figure.dpi": 80, "savefig.dpi": 80})
data = load_digits()
n, sizes, alpha = 8, [64, 16, 10], 0.01
X, y = data.X_train[:n], data.y_train[:n]
mine = numpy_impl.MLP(sizes, alpha=alpha, seed=0, dtype="float64")
theirs = torch_impl.MLP(sizes, alpha=alpha, seed=0, dtype="float64")
print(f"batch: X {X.shape}, labels {y.tolist()}; layers {sizes}, leaky-ReLU alpha {alpha}")
print("initial parameters bit-identical:",
      all(np.array_equal(mine.state_dict()[k], theirs.state_dict()[k]) for k in mine.params))

# %% [markdown]
# ## The forward pass (MATH.md §1)
#
# $Z_l = A_{l-1} W_l + b_l$, $A_l = \varphi(Z_l)$ for the hidden layers,
# $P = \mathrm{softmax}(Z_L)$. The two twins' plain `forward`, line beside line (`≠` marks the
# lines that differ, which are the library's words), then the fast path's `forward_pass`:

# %%
display(notebook_view("forward"))

# %% [markdown]
# The pieces the fast path calls, `linear`, `leaky_relu` and `softmax` (MATH.md §2, §4):

# %%
for name in ("linear", "leaky_relu", "softmax"):
    display(notebook_view(name))

# %% [markdown]
# ## The backward pass (MATH.md §3, §5)
#
# $G_L = (P - Y)/n$; for $l = L \dots 1$: $\partial\ell/\partial W_l = A_{l-1}^\top G_l$,
# $\partial\ell/\partial b_l = \sum_i (G_l)_{i,:}$, and
# $G_{l-1} = (G_l W_l^\top) \odot \varphi'(Z_{l-1})$. The plain `backward` first, then the
# fast path's `backward_pass` and the two functions it calls:

# %%
display(notebook_view("backward"))
for name in ("cross_entropy_grad", "leaky_relu_derivative"):
    display(notebook_view(name))

# %% [markdown]
# ## Derivation 1: the gradient of softmax + cross-entropy at the logits (MATH.md §3)
#
# Write $Z = Z_L$ for the logits of the batch ($n$ rows, $k$ classes), $y_i$ for row $i$'s
# label and $Y_{ij} = [j = y_i]$ for its one-hot row. With $P_{ij} = e^{Z_{ij}} / \sum_c
# e^{Z_{ic}}$, the log of the probability of the right class is
#
# $$\log P_{i,y_i} = Z_{i,y_i} - \log \sum_c e^{Z_{ic}}.$$
#
# The loss is $\ell = -\frac1n \sum_i \log P_{i,y_i}$. The logit $Z_{ij}$ appears only in row
# $i$'s term, in two places: in $Z_{i,y_i}$ when $j = y_i$, and inside the sum. So
#
# $$\frac{\partial \log P_{i,y_i}}{\partial Z_{ij}}
#   = [j = y_i] - \frac{e^{Z_{ij}}}{\sum_c e^{Z_{ic}}} = Y_{ij} - P_{ij},$$
#
# (the derivative of $\log \sum_c e^{Z_{ic}}$ is the softmax itself), and with the factor
# $-\frac1n$ of the mean:
#
# $$G_L = \frac{\partial \ell}{\partial Z_L} = \frac{P - Y}{n}.$$
#
# Subtracting the row maximum before exponentiating (§2) changes neither $P$ nor this
# gradient: it cancels between numerator and denominator. Each row of $G_L$ sums to zero,
# since $P$ and $Y$ rows both sum to one.
#
# ## Derivation 2: the backward recursion (MATH.md §5)
#
# Let $G_l = \partial\ell/\partial Z_l$, an $(n, d_l)$ array. Layer $l$ computes
# $(Z_l)_{ij} = \sum_m (A_{l-1})_{im} (W_l)_{mj} + (b_l)_j$. The chain rule through this one
# formula gives all three gradients, entry by entry:
#
# * $(W_l)_{mj}$ appears in every row $i$ of column $j$, with factor $(A_{l-1})_{im}$:
#   $$\frac{\partial\ell}{\partial (W_l)_{mj}} = \sum_i (A_{l-1})_{im} (G_l)_{ij}
#     \quad\Longrightarrow\quad \frac{\partial\ell}{\partial W_l} = A_{l-1}^\top G_l .$$
# * $(b_l)_j$ appears in every row of column $j$ with factor 1:
#   $\partial\ell/\partial (b_l)_j = \sum_i (G_l)_{ij}$, the column sums of $G_l$.
# * $(A_{l-1})_{im}$ appears in row $i$ of every column $j$, with factor $(W_l)_{mj}$:
#   $$\frac{\partial\ell}{\partial (A_{l-1})_{im}} = \sum_j (G_l)_{ij} (W_l)_{mj}
#     \quad\Longrightarrow\quad \frac{\partial\ell}{\partial A_{l-1}} = G_l W_l^\top .$$
#
# The hidden activation acts entry by entry, $A_{l-1} = \varphi(Z_{l-1})$, so each entry of
# $Z_{l-1}$ reaches the loss only through its own entry of $A_{l-1}$:
#
# $$G_{l-1} = (G_l W_l^\top) \odot \varphi'(Z_{l-1}).$$
#
# Starting from $G_L$ of Derivation 1 and going from $l = L$ down to $1$ gives every
# gradient; the shapes check the algebra: $A_{l-1}^\top G_l$ is $(d_{l-1}, n)(n, d_l)$, the
# shape of $W_l$. The cell after the next note checks every line of both derivations
# numerically, four ways: $G_2$ (Derivation 1), and $\partial\ell/\partial W_2$,
# $\partial\ell/\partial b_2$, $G_1$, $\partial\ell/\partial W_1$, $\partial\ell/\partial b_1$
# (Derivation 2).

# %% [markdown]
# ## Every quantity, four ways
#
# * **numpy** and **torch**: each twin's plain `forward`, `backward` and `cross_entropy`
#   (`plain.py`) on the model's parameters; the intermediate gradients $G_l$, which the plain
#   `backward` keeps to itself, come from the fast path's `backward_pass` (its `keep_G`), and
#   the fast path's gradients are held to the plain ones (printed below the table).
# * **autograd**: the same network in plain `torch.nn.functional`, differentiated by
#   `torch.autograd` (the gradients at $Z_l$ are $G_l$).
# * **central differences**: $(\ell(\theta + h) - \ell(\theta - h)) / 2h$ for every entry
#   of each gradient, $h = 10^{-6}$, with the loss computed by the NumPy twin.

# %%
def twin_quantities(model, plain, X, y) -> tuple[dict, float]:
    """Z1, A1, Z2, P, loss, G2, G1 and the gradients, computed by one twin's plain functions
    (the G_l by its fast path), and the fast path's largest relative gap to the plain
    gradients."""
    features, labels = model.prepare_data(X, y)
    A, Z = plain.forward(model.params, features, "leaky_relu", alpha)
    grads = plain.backward(model.params, A, Z, labels, "leaky_relu", alpha)
    G = {}
    fast = model.backward_pass(model.forward_pass(features), labels, keep_G=G)
    out = {"Z1": Z[1], "A1": A[1], "Z2": Z[2], "P": A[2],
           "loss": plain.cross_entropy(Z[2], labels), "G2": G["G2"],
           "dW2": grads["W2"], "db2": grads["b2"], "G1": G["G1"],
           "dW1": grads["W1"], "db1": grads["b1"]}
    gap = max(relative_error(to_numpy(fast[k]), to_numpy(grads[k])) for k in grads)
    return {k: to_numpy(v) for k, v in out.items()}, gap


def autograd_quantities(state: dict, X, y) -> dict:
    """The same quantities from torch.nn.functional and torch.autograd."""
    p = {k: torch.tensor(v, requires_grad=True) for k, v in state.items()}
    Z1 = torch.tensor(X) @ p["W1"] + p["b1"]
    A1 = TF.leaky_relu(Z1, alpha)
    Z2 = A1 @ p["W2"] + p["b2"]
    for z in (Z1, Z2):
        z.retain_grad()
    loss = TF.cross_entropy(Z2, torch.tensor(y))
    loss.backward()
    out = {"Z1": Z1, "A1": A1, "Z2": Z2, "P": torch.softmax(Z2, 1), "loss": loss,
           "G2": Z2.grad, "dW2": p["W2"].grad, "db2": p["b2"].grad, "G1": Z1.grad,
           "dW1": p["W1"].grad, "db1": p["b1"].grad}
    return {k: v.detach().numpy() for k, v in out.items()}


def central_differences(state: dict, X, y, h: float = 1e-6) -> dict:
    """Numerical gradients of the loss at the parameters and at Z1, Z2."""
    model = numpy_impl.MLP(sizes, alpha=alpha, dtype="float64")
    model.load_state_dict(state)
    W2, b2 = state["W2"], state["b2"]

    def numeric(array, loss_of):
        grad = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            keep = array[index]
            array[index] = keep + h
            up = loss_of()
            array[index] = keep - h
            down = loss_of()
            array[index] = keep
            grad[index] = (up - down) / (2 * h)
        return grad

    def loss() -> float:
        return float(model.loss_and_grads(X, y)[0])

    _, cache = model.forward(X)
    Z1, Z2 = cache.Z[1].copy(), cache.Z[2].copy()
    out = {name: numeric(model.params[name], loss) for name in ("W2", "b2", "W1", "b1")}
    out["G2"] = numeric(Z2, lambda: float(NF.cross_entropy(Z2, y)))
    out["G1"] = numeric(Z1, lambda: float(NF.cross_entropy(
        NF.leaky_relu(Z1, alpha) @ W2 + b2, y)))
    return {"G2": out["G2"], "dW2": out["W2"], "db2": out["b2"], "G1": out["G1"],
            "dW1": out["W1"], "db1": out["b1"]}


state = mine.state_dict()
q_numpy, fast_gap_numpy = twin_quantities(mine, numpy_impl.plain, X, y)
q_torch, fast_gap_torch = twin_quantities(theirs, torch_impl.plain, X, y)
q_autograd = autograd_quantities(state, X, y)
q_central = central_differences(state, X, y)

FORMULAS = {
    "Z1": r"Z_1 = X W_1 + b_1", "A1": r"A_1 = \varphi(Z_1)", "Z2": r"Z_2 = A_1 W_2 + b_2",
    "P": r"P = \mathrm{softmax}(Z_2)", "loss": r"\ell = -\tfrac1n \sum_i \log P_{i,y_i}",
    "G2": r"G_2 = (P - Y)/n", "dW2": r"\partial\ell/\partial W_2 = A_1^\top G_2",
    "db2": r"\partial\ell/\partial b_2 = \textstyle\sum_i G_2",
    "G1": r"G_1 = (G_2 W_2^\top) \odot \varphi'(Z_1)",
    "dW1": r"\partial\ell/\partial W_1 = X^\top G_1",
    "db1": r"\partial\ell/\partial b_1 = \textstyle\sum_i G_1",
}
errors = {"torch": {}, "autograd": {}, "central differences": {}}
rows = ["| quantity | MATH.md | shape | numpy vs torch | numpy vs autograd "
        "| numpy vs central differences |", "|---|---|---|---|---|---|"]
for name, formula in FORMULAS.items():
    cells = []
    for other, values in (("torch", q_torch), ("autograd", q_autograd),
                          ("central differences", q_central)):
        if name in values:
            errors[other][name] = relative_error(q_numpy[name], values[name])
            cells.append(f"{errors[other][name]:.1e}")
        else:
            cells.append("—")
    section = "§1" if name in ("Z1", "A1", "Z2", "P") else ("§3" if name in ("loss", "G2")
                                                           else "§5")
    rows.append(f"| ${formula}$ | {section} | {q_numpy[name].shape} | " + " | ".join(cells)
                + " |")
display(Markdown("\n".join(rows)))
for other, found in errors.items():
    print(f"largest relative error, numpy vs {other}: {max(found.values()):.2e}")
print(f"fast path (backward_pass) vs plain backward, largest relative error: numpy "
      f"{fast_gap_numpy:.2e}, torch {fast_gap_torch:.2e}")

# %%
fig, ax = plt.subplots(figsize=(9, 3.5))
names = list(FORMULAS)
for offset, (other, found) in zip((-0.25, 0, 0.25), errors.items(), strict=True):
    values = [max(found.get(k, np.nan), 1e-18) for k in names]
    ax.bar(np.arange(len(names)) + offset, values, width=0.25, label=f"numpy vs {other}")
ax.set_xticks(range(len(names)), names)
ax.set(yscale="log", ylim=(1e-18, 1e-6), ylabel="relative error (0 drawn at 1e-18)",
       title="each quantity of one forward and backward pass, float64")
ax.axhline(2.2e-16, color="grey", lw=0.8, ls=":", label="float64 machine epsilon")
ax.legend(fontsize=8, loc="upper left")
fig.tight_layout()
plt.show()

# %%
bit_identical = [k for k, v in errors["torch"].items() if v == 0]
worst_twin = max(errors["torch"], key=errors["torch"].get)
display(Markdown(
    f"The twins agree bit for bit on {len(bit_identical)} of {len(errors['torch'])} "
    f"quantities ({', '.join(bit_identical) or 'none'}); the largest difference, "
    f"{errors['torch'][worst_twin]:.1e} in {worst_twin}, is a few float64 roundings: NumPy's "
    f"and torch's kernels add the same products in different orders. autograd agrees within "
    f"{max(errors['autograd'].values()):.1e}, and central differences — limited by their own "
    f"truncation and rounding error, not by the code — within "
    f"{max(errors['central differences'].values()):.1e}."))

# %% [markdown]
# ## One SGD step with the L2 term (MATH.md §6, §7)
#
# $W_l \leftarrow W_l - \eta\,(\partial\ell/\partial W_l + (\lambda/N) W_l)$,
# $b_l \leftarrow b_l - \eta\,\partial\ell/\partial b_l$, with $N$ the training-set size, not
# the batch size. The plain `sgd_step` first, then the fast path's `SGD.step`, whose L2 term
# is added by the shared `OptimizerBase._coupled` (shown last, written once for both twins):

# %%
display(notebook_view("sgd_step"))
display(notebook_view("_coupled"))

# %% [markdown]
# ## Derivation 3: the gradient of the L2 term (MATH.md §6)
#
# The objective adds $R = \frac{\lambda}{2N} \sum_l \lVert W_l \rVert_F^2
# = \frac{\lambda}{2N} \sum_l \sum_{m,j} (W_l)_{mj}^2$. Each weight appears in one square:
#
# $$\frac{\partial R}{\partial (W_l)_{mj}} = \frac{\lambda}{2N}\, 2\,(W_l)_{mj}
#   \quad\Longrightarrow\quad \frac{\partial R}{\partial W_l} = \frac{\lambda}{N} W_l ,$$
#
# and the biases do not appear in $R$, so their gradient gets nothing from it. Why $N$, the
# training-set size, and not the batch size $n$: each batch's mean loss estimates the mean
# over all $N$ rows, so $J$ estimates
# $\frac1N\big(\sum_{i=1}^{N} \ell_i + \frac{\lambda}{2} \sum_l \lVert W_l \rVert_F^2\big)$ —
# $\lambda$ weighs the weights against the *sum* of the per-row losses, the same balance
# whatever the batch size.
#
# ## Derivation 4: one SGD step (MATH.md §7)
#
# A step moves every parameter against the gradient of $J = \ell + R$ on the batch, by the
# learning rate $\eta$:
#
# $$W_l \leftarrow W_l - \eta\Big(A_{l-1}^\top G_l + \frac{\lambda}{N} W_l\Big)
#   = \Big(1 - \frac{\eta\lambda}{N}\Big) W_l - \eta\, A_{l-1}^\top G_l ,
#   \qquad b_l \leftarrow b_l - \eta \textstyle\sum_i (G_l)_{i,:} .$$
#
# The second form is why L2 is called *weight decay*: before the data's pull, each step
# shrinks every weight by the factor $1 - \eta\lambda/N$ — with the exercise's $\eta =
# 0.001$, $\lambda = 10^{-4}$ and $N = 1149$, by $8.7 \times 10^{-11}$ per step, which is why
# the cell below also tries $\lambda = 100$. It checks both derivations at once: the step
# of each twin, `plain.sgd_step` (the formula above), and `torch.optim.SGD`.

# %% [markdown]
# The step taken three ways — each twin's optimizer, the plain `sgd_step`, and
# `torch.optim.SGD` with the weights in a group with `weight_decay = λ/N` and the biases in a
# group without — with the exercise's λ and η and a λ large enough for the term to matter:

# %%
N, lr = len(data.y_train), 0.001
for lam in (1e-4, 100.0):
    delta = lam / N
    stepped = {}
    for label, model, optim in (("numpy", mine, numpy_impl.optim),
                                ("torch", theirs, torch_impl.optim)):
        copy = type(model)(sizes, alpha=alpha, dtype="float64")
        copy.load_state_dict(state)
        _, grads = copy.loss_and_grads(X, y)
        optim.SGD(lr, delta).step(copy.params, grads)
        stepped[label] = copy.state_dict()
    grads = {k: v for k, v in zip(("W2", "b2", "W1", "b1"),
                                   (q_numpy["dW2"], q_numpy["db2"], q_numpy["dW1"],
                                    q_numpy["db1"]), strict=True)}
    by_plain = numpy_impl.plain.sgd_step(state, grads, lr, lam, N)
    leaves = {k: torch.tensor(v, requires_grad=True) for k, v in state.items()}
    reference = torch.optim.SGD([
        {"params": [leaves["W1"], leaves["W2"]], "weight_decay": delta},
        {"params": [leaves["b1"], leaves["b2"]], "weight_decay": 0.0}], lr=lr)
    for k, leaf in leaves.items():
        leaf.grad = torch.tensor(grads[k])
    reference.step()
    decay_share = (np.linalg.norm(delta * state["W1"]) / np.linalg.norm(grads["W1"]))
    print(f"λ = {lam:g}, N = {N}: λ/N = {delta:.3e}; ‖(λ/N) W1‖ / ‖∂ℓ/∂W1‖ = {decay_share:.2e}")
    for k in state:
        print(f"   {k}: numpy vs torch "
              f"{relative_error(stepped['numpy'][k], stepped['torch'][k]):.1e}"
              f", numpy vs plain {relative_error(stepped['numpy'][k], by_plain[k]):.1e}"
              f", numpy vs torch.optim.SGD "
              f"{relative_error(stepped['numpy'][k], leaves[k].detach().numpy()):.1e}")

# %% [markdown]
# With the exercise's λ the decay term is a small fraction of the gradient on one batch (the
# ratio printed above); it is normalised by the training-set size $N$, so its pull on the
# weights over an epoch does not depend on the batch size. Notebook 03 follows the twins'
# tiny differences through thousands of such steps.

# %% [markdown]
# ## Exercises
#
# Each says what to look for; the answer is folded away below it. Run the notebook from the
# top first; exercises 3 and 4 edit code, so undo the edits afterwards
# (`git checkout numpy_impl torch_impl`).
#
# **1. Rows of $G_2$ sum to zero.** Derivation 1 says so. Check it on the batch: the
# largest $|\sum_j (G_2)_{ij}|$ over the rows, from the four-way cell's numpy quantities.
#
# <details><summary>Answer</summary>
#
# `np.abs(q_numpy["G2"].sum(axis=1)).max()` prints a number of the order of **1e-17**:
# zero up to float64 rounding of eight divided probabilities. Each row is
# $(P_{i,:} - Y_{i,:})/n$, and both $P_{i,:}$ and $Y_{i,:}$ sum to one.
# </details>
#
# **2. The decay factor.** From Derivation 4, by how much does one step shrink $W_1$ before
# the data's pull, with $\eta = 0.001$, $N = 1149$ and $\lambda = 100$? Check it: with the
# gradient set to zero, `numpy_impl.optim.SGD(0.001, 100 / 1149).step(params, zeros)` on a
# copy of the parameters.
#
# <details><summary>Answer</summary>
#
# $1 - \eta\lambda/N = 1 - 0.1/1149 =$ **0.99991297** (to eight figures): every weight is
# multiplied by it, the biases are left alone (their gradient is zero and they are not
# decayed). With the exercise's $\lambda = 10^{-4}$ the factor is $1 - 8.7\times10^{-11}$.
# </details>
#
# **3. Change α.** Set the leaky-ReLU slope to 0.3 in the first code cell and rerun. Before
# you do: which rows of the four-way table change value, and which error columns change
# order of magnitude?
#
# <details><summary>Answer</summary>
#
# $Z_1$ is the same (it comes before the activation); everything after it changes value.
# The error columns stay where they were — the twins and autograd within about 1e-15,
# central differences within about 1e-9 — because the same formula, with the new α, is in
# all four. The test suite says the same about every slope and activation:
# `.venv/bin/python -m pytest -q tests/test_gradcheck.py -k leaky_relu` passes.
# </details>
#
# **4. Break the derivative — in one twin, then in both.** In `numpy_impl/functional.py`
# make `leaky_relu_derivative` use slope 1 for $z \le 0$ (return `grad` unchanged), restart
# the kernel and rerun; then run
# `.venv/bin/python -m pytest -q -x tests/test_parity.py -k "leaky_relu and cpu and float64"`
# and `.venv/bin/python -m pytest -q -x tests/test_gradcheck.py -k leaky_relu`. Then make the
# same change in `torch_impl/functional.py` as well and run both again. Which rows of the
# table, and which tier of tests, catch each version?
#
# <details><summary>Answer</summary>
#
# Only the rows that pass through $\varphi'(Z_1)$ move: $G_1$, $\partial\ell/\partial W_1$,
# $\partial\ell/\partial b_1$ (Derivation 2); $G_2$, $\partial\ell/\partial W_2$ and
# $\partial\ell/\partial b_2$ stay exact. Broken in one twin, all three comparison columns
# show it and **both** test files fail (the twins disagree; the numpy twin also disagrees
# with central differences). Broken in both, the *numpy vs torch* column drops back to
# rounding and `test_parity.py` **passes** — the twins agree on the wrong derivative — while
# `test_gradcheck.py` still fails: only an independent oracle (tier 5) catches a mistake
# made twice.
# </details>

