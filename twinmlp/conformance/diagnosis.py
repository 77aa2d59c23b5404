"""Naming the likely cause of the first difference (docs/check.md, "Diagnoses").

Each signature predicts what a target with one known mistake computes — the reference with
that mistake put in (:mod:`~twinmlp.conformance.mutants`), or a pattern such as a constant
factor — and matches when the target's values agree with the prediction within the strict
step tier. Conventions that legitimately differ (the L2 normalisation, a clipped log) are
named as conventions, never as bugs. No match: say so, with the worst entry.
"""

from __future__ import annotations

import numpy as np

from twinmlp import tolerances
from twinmlp.conformance import mutants
from twinmlp.conformance import reference as ref
from twinmlp.conformance.compare import Evidence
from twinmlp.conformance.report import Diagnosis
from twinmlp.conformance.settings import LOG_FORMS, CheckSettings, Conventions
from twinmlp.numpy_impl.functional import ACTIVATIONS
from twinmlp.parity import relative_error

Arrays = dict[str, np.ndarray]
#: Values of ε tried for a clipped log, and leaky slopes tried for a forward pass.
LOG_EPSILONS = (1e-15, 1e-12, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5, float(np.finfo(float).eps))
SLOPES = (0.0, 0.001, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0)
#: Where a float32 value comes from in a float64 torch computation.
FLOAT32_HINT = ("in torch, torch.where(Z > 0, 1.0, alpha), (Z > 0).float() and "
                "torch.tensor(0.01) are float32: make them in Z's dtype, e.g. "
                "torch.where(Z > 0, torch.ones_like(Z), torch.full_like(Z, alpha))")


def diagnose(problem: ref.Problem, evidence: Evidence | None, conventions: Conventions,
             settings: CheckSettings) -> Diagnosis:
    """The diagnosis of the first failing row (``evidence`` None: a row without one)."""
    if evidence is None:
        return unknown("no signature applies to this quantity", "")
    if evidence.dtype != "float64":
        return Diagnosis("unknown", "float32-only",
                         "the float64 stage agrees, so the arithmetic is right; the "
                         "difference appears only in float32 (a cast, a float64 constant "
                         "or a lower-precision operation)", worst(evidence))
    test = {"forward": forward_signatures, "forward-large": large_logit_signatures,
            "loss": loss_signatures, "gradients": gradient_signatures,
            "gradients-l2": l2_signatures, "step": step_signatures}[evidence.stage]
    found = test(problem, evidence, settings) or float32_precision(evidence)
    return found or unknown("", worst(evidence))


def unknown(cause: str, evidence: str) -> Diagnosis:
    return Diagnosis("unknown", "unknown", cause, evidence)


def float32_precision(evidence: Evidence) -> Diagnosis | None:
    """float64 values that agree with the reference only to about float32 precision."""
    error = matches(evidence.user, evidence.reference)
    if not error <= tolerances.STEP["float32"]:
        return None
    return Diagnosis("mistake", "float32-in-float64",
                     "your float64 values agree with the reference only to about float32 "
                     f"precision: likely a float32 tensor or constant in the computation "
                     f"({FLOAT32_HINT}), or a small ε added somewhere",
                     f"relative error {error:.1e}; float32 rounds at "
                     f"{float(np.finfo(np.float32).eps):.1e}")


def worst(evidence: Evidence) -> str:
    """The worst entry of the evidence, with both values."""
    errors = {n: relative_error(evidence.user[n], evidence.reference[n])
              for n in evidence.reference}
    name = max(errors, key=errors.get)
    u = np.asarray(evidence.user[name], np.float64)
    r = np.asarray(evidence.reference[name], np.float64)
    with np.errstate(invalid="ignore"):
        gap = np.where(np.isfinite(u), np.abs(u - r), np.inf)
    index = tuple(int(i) for i in np.unravel_index(int(np.argmax(gap)), gap.shape))
    return (f"worst entry {name}{list(index)}: yours {float(u[index])!r} vs reference "
            f"{float(r[index])!r}")


def matches(user: Arrays, predicted: Arrays) -> float:
    """The largest relative error between the user's values and a prediction."""
    with np.errstate(all="ignore"):
        errors = [relative_error(user[n], predicted[n]) for n in predicted]
    return max(errors) if all(np.isfinite(errors)) else float("inf")


def fits(user: Arrays, predicted: Arrays) -> bool:
    """Whether a prediction reproduces the user's values within the strict step tier."""
    return matches(user, predicted) <= tolerances.STEP["float64"]


def close(a: float, b: float) -> bool:
    """``a`` equals ``b`` within the float64 trajectory tier (relative): a factor recovered
    from an update carries the update's cancellation, more than one step's rounding."""
    return abs(a - b) <= tolerances.TRAJECTORY["float64"] * max(abs(a), abs(b))


def factor(user: Arrays, reference: Arrays) -> float | None:
    """``c`` with ``user = c · reference`` for every array, or ``None``."""
    u = np.concatenate([np.ravel(user[n]) for n in reference])
    r = np.concatenate([np.ravel(reference[n]) for n in reference])
    if not np.isfinite(u).all() or not r.any():
        return None
    c = float(u @ r / (r @ r))
    residual = np.linalg.norm(u - c * r) / max(np.linalg.norm(u), np.linalg.norm(r))
    return c if residual <= tolerances.TRAJECTORY["float64"] else None


def seen(evidence: Evidence, grads: Arrays) -> Arrays:
    """Gradients as the check saw them: recovered from ``W − (W − g)`` where it was."""
    if not evidence.recovered:
        return grads
    return {n: evidence.params[n] - (evidence.params[n] - grads[n]) for n in grads}


# --- by stage ---

def factor_signature(evidence: Evidence, what: str, moves: bool = True
                     ) -> Diagnosis | None:
    """A constant factor between the user's values and the reference's; the signatures of
    an update (ascent, no update, a rate mismatch) only where ``what`` ``moves``."""
    c = factor(evidence.user, evidence.reference)
    if c is None or close(c, 1.0):
        return None
    n = len(evidence.y) if evidence.y is not None else 0
    say = f"yours = {c:.6g} × the reference's for every {what}"
    if n and close(c, n):
        return Diagnosis("mistake", "sum-instead-of-mean",
                         f"a sum instead of a mean over the batch: every {what} is n = {n} "
                         "times too large", say)
    if n and close(c, 1 / n):
        return Diagnosis("mistake", "mean-twice",
                         f"the mean taken twice: every {what} is divided by n = {n} once more",
                         say)
    if not moves:
        return None
    last = f"b{len(evidence.reference) // 2}"
    k = evidence.reference[last].size if last in evidence.reference else 0
    if k > 1 and close(c, 1 / k):
        return Diagnosis("mistake", "mean-over-classes",
                         f"a mean over the classes too: every {what} is divided by n·k, "
                         f"k = {k} classes, instead of by the batch size n (G = (P − Y)/n, "
                         "MATH.md §5); unless your backward ignores the learning-rate "
                         f"attribute and uses a rate {c:.6g} × the one set", say)
    if close(c, -1.0):
        return Diagnosis("mistake", "gradient-ascent",
                         "the gradient's sign: the update adds the gradient (ascent) instead "
                         "of subtracting it", say)
    if abs(c) <= tolerances.STEP["float64"]:
        return Diagnosis("mistake", "no-update",
                         "the update does not change the parameters (gradients computed or "
                         "returned but not applied, a copy updated, or new arrays not "
                         "stored)", say)
    return Diagnosis("mistake", "learning-rate-mismatch",
                     f"a learning-rate mismatch, or a gradient scaled by a constant: the "
                     f"update moves {c:.6g} × the step the learning rate asks for (a rate "
                     f"not read from the attribute set, or scaled again)", say)


def gradient_signatures(problem: ref.Problem, evidence: Evidence, settings: CheckSettings
                        ) -> Diagnosis | None:
    found = factor_signature(evidence, "gradient")
    if found:
        return found
    user, reference = evidence.user, evidence.reference
    biases = [n for n in reference if n.startswith("b")]
    weights_ok = fits({n: user[n] for n in reference if n[0] == "W"},
                      {n: reference[n] for n in reference if n[0] == "W"})
    if weights_ok and all(not np.any(user[n]) for n in biases):
        return Diagnosis("mistake", "biases-not-updated",
                         "the biases are not updated: the weights move as they should, the "
                         "biases not at all", "every bias gradient recovered is 0")
    config = problem.config
    act, alpha = config.activation, config.alpha

    def predicted(**mistake: object) -> Arrays:
        return seen(evidence, mutants.gradients(evidence.params, evidence.X, evidence.y, act,
                                                alpha, **mistake))

    candidates = [
        ("labels-off-by-one", "the labels are off by one (class c taken as c + 1)",
         dict(label_shift=1)),
        ("labels-off-by-one", "the labels are off by one (class c taken as c − 1)",
         dict(label_shift=-1)),
        ("labels-not-one-hot", "the labels are not one-hot: P − y subtracts the integer "
         "labels from every column", dict(raw_labels=True)),
    ]
    if act not in ("relu", "leaky_relu"):
        candidates.append(("derivative-at-activation", f"the derivative of {act} is "
                           "evaluated at A = φ(Z) instead of at Z", dict(at_activation=True)))
    else:
        candidates.append(("derivative-at-zero", "the derivative's value at Z = 0: yours "
                           "uses 1 there (z ≥ 0 instead of z > 0)", dict(at_zero=1.0)))
    if any(evidence.params[f"W{l}"].shape[0] == evidence.params[f"W{l}"].shape[1]
           for l in range(2, len(evidence.params) // 2 + 1)):
        candidates.append(("transposed-weights", "transposed weights in backward: the "
                           "gradient flows back through a square W as G @ W instead of "
                           "G @ Wᵀ", dict(transposed_backward=True)))
    for name, cause, mistake in candidates:
        error = matches(user, predicted(**mistake))
        if error <= tolerances.STEP["float64"]:
            return Diagnosis("mistake", name, cause,
                             f"your gradients equal the reference's with that mistake to "
                             f"{error:.1e}")
    if act in ("relu", "leaky_relu"):
        slope = estimated_slope(user, predicted)
        single = float(np.float32(alpha)) if act == "leaky_relu" else 0.0
        if slope is not None and single != alpha and close(slope, single):
            return Diagnosis("mistake", "float32-in-float64",
                             f"a float32 value in your float64 backward: the slope below "
                             f"zero is --alpha {alpha:g} rounded to float32 ({slope:.10g}); "
                             f"{FLOAT32_HINT}",
                             "your gradients equal the reference's with that slope to "
                             f"{matches(user, predicted(slope=slope)):.1e}")
        if slope is not None:
            return Diagnosis("mistake", "leaky-slope",
                             f"the activation's derivative is wrong only where Z ≤ 0: your "
                             f"backward uses slope {slope:.10g} there, the forward (and "
                             f"--alpha) {alpha if act == 'leaky_relu' else 0:g}",
                             "your gradients equal the reference's with that slope to "
                             f"{matches(user, predicted(slope=slope)):.1e}")
    return None


def estimated_slope(user: Arrays, predicted: object) -> float | None:
    """The backward slope ``s`` below zero that fits the user's gradients (affine in ``s``
    for one hidden layer, checked for any depth), or ``None``."""
    g0, g1 = predicted(slope=0.0), predicted(slope=1.0)  # type: ignore[operator]
    names = list(g0)
    u = np.concatenate([np.ravel(user[n] - g0[n]) for n in names])
    d = np.concatenate([np.ravel(g1[n] - g0[n]) for n in names])
    if not d.any() or not np.isfinite(u).all():
        return None
    slope = float(u @ d / (d @ d))
    return slope if fits(user, predicted(slope=slope)) else None  # type: ignore[operator]


def l2_signatures(problem: ref.Problem, evidence: Evidence, settings: CheckSettings
                  ) -> Diagnosis | None:
    plain, user, params = evidence.extra["plain"], evidence.user, evidence.params
    decay, N, n = evidence.weight_decay, problem.n_train, len(evidence.y)
    biases = [name for name in params if name[0] == "b"]
    if not fits({b: user[b] for b in biases}, {b: plain[b] for b in biases}):
        c = factor({b: user[b] - plain[b] for b in biases}, {b: params[b] for b in biases})
        if c is not None:
            return Diagnosis("mistake", "biases-decayed",
                             "the biases are decayed: L2 applies to weights only (MATH.md §6)",
                             f"your bias gradients carry {c:.6g} × b, the L2 coefficient "
                             f"λ/N = {decay / N:.6g}")
    weights = [name for name in params if name[0] == "W"]
    c = factor({w: user[w] - plain[w] for w in weights}, {w: params[w] for w in weights})
    if c is None:
        return None
    ratio = c / (decay / N)
    say = (f"your weight gradients carry {c:.6g} × W; the reference's L2 term is "
           f"λ/N = {decay}/{N} = {decay / N:.6g}")
    if abs(c) <= tolerances.STEP["float64"]:
        return Diagnosis("mistake", "l2-missing",
                         "the L2 term is missing: the weight-decay setting changes nothing "
                         "(if your network has no L2 term, pass --weight-decay 0)",
                         say)
    if close(ratio, 2.0):
        return Diagnosis("mistake", "l2-doubled",
                         "the L2 gradient is 2λ·W/N: the derivative of λ/(2N)·‖W‖² is "
                         "λ·W/N", say)
    if close(ratio, N / n):
        return Diagnosis("convention", "l2-by-batch",
                         f"your L2 term is normalised by the batch size ({n}), not the "
                         f"training-set size N = {N}; pass --l2-by batch to compare against "
                         "that convention, or give the class a training-set-size attribute",
                         say)
    if close(ratio, N):
        return Diagnosis("mistake", "l2-not-normalised",
                         f"the L2 gradient is λ·W, not divided by the training-set size: "
                         f"MATH.md §6's term λ/(2N)·‖W‖² has the gradient λ/N·W, N = {N}",
                         say)
    return Diagnosis("mistake", "l2-coefficient",
                     f"the L2 coefficient is {ratio:.6g} × λ/N", say)


def step_signatures(problem: ref.Problem, evidence: Evidence, settings: CheckSettings
                    ) -> Diagnosis | None:
    return factor_signature(evidence, "parameter change")


def loss_signatures(problem: ref.Problem, evidence: Evidence, settings: CheckSettings
                    ) -> Diagnosis | None:
    user = float(evidence.user["loss"])
    A, _ = ref.forward(problem, evidence.params, evidence.X)
    P, y = A[-1], evidence.y
    picked = P[np.arange(len(y)), y]
    if not np.isfinite(user):
        zeros = int(np.count_nonzero(picked == 0))
        if zeros:
            return Diagnosis("mistake", "log-of-softmax",
                             "your loss takes log(softmax(Z)): −log P is infinite where P "
                             "underflows to 0 (large logits); compute it through log-softmax, "
                             "Z − max Z − log Σ exp(Z − max Z) (MATH.md §2, §3)",
                             f"your loss is {user!r}; {zeros} of the {len(y)} probabilities "
                             "of the true class are 0 in float64")
        return None
    for eps in LOG_EPSILONS:
        for option, form in LOG_FORMS.items():
            argument = ref.clipped_log_argument(picked, eps, option)
            predicted = float(-np.log(argument).mean())
            if close(user, predicted) or abs(user - predicted) <= (
                    tolerances.STEP["float64"] * abs(predicted)):
                return Diagnosis("convention", "log-clip",
                                 f"your loss takes {form} with ε = {eps:.3g} instead of "
                                 "log-softmax: a convention (it differs where P is tiny); "
                                 f"pass --log-eps {eps:.3g} --log-form {option} to compare "
                                 "against it",
                                 f"your loss {user!r} equals it to rounding")
    return factor_signature(evidence, "loss", moves=False)


def large_logit_signatures(problem: ref.Problem, evidence: Evidence,
                           settings: CheckSettings) -> Diagnosis | None:
    P = evidence.user["P"]
    if not np.isfinite(P).all():
        return Diagnosis("mistake", "unshifted-softmax",
                         "the softmax does not subtract the row maximum: exp overflows for "
                         "large logits",
                         f"P is right for ordinary logits and holds "
                         f"{int(np.count_nonzero(~np.isfinite(P)))} NaN or infinite entries "
                         f"for logits up to {ref.LARGE_LOGIT:g}")
    return None


def forward_signatures(problem: ref.Problem, evidence: Evidence, settings: CheckSettings
                       ) -> Diagnosis | None:
    config, params, X = problem.config, evidence.params, evidence.X
    user = evidence.user["P"]
    if np.isfinite(user).all():
        _, Z = ref.forward(problem, params, X)
        for returned, predicted in (("the logits Z_L", Z[-1]),
                                    ("log-probabilities", np.log(evidence.reference["P"]))):
            if fits({"P": user}, {"P": predicted}):
                return Diagnosis("mistake", "forward-returns-logits",
                                 f"forward(X) returns {returned}, not the probabilities: "
                                 "the check expects P = softmax(Z_L) (MATH.md §1, §2)",
                                 f"your forward's output equals the reference's {returned} "
                                 "to rounding")
    if any(v.ndim == 2 and v.shape[0] == v.shape[1] for v in params.values()):
        A, _ = mutants.forward(params, X, config.activation, config.alpha, transposed=True)
        if fits(evidence.user, {"P": A[-1]}):
            return Diagnosis("mistake", "transposed-weights",
                             "transposed weights: a square W is used as Wᵀ in the forward "
                             "pass", "your P equals the reference's with Wᵀ to rounding")
    if config.activation == "leaky_relu":
        for slope in SLOPES:
            A, _ = mutants.forward(params, X, "leaky_relu", slope)
            if slope != config.alpha and fits(evidence.user, {"P": A[-1]}):
                if slope == 0.0:
                    return activation_mismatch("relu", config.activation)
                return Diagnosis("mistake", "leaky-slope",
                                 f"the leaky-ReLU slope: your forward uses {slope:g}, "
                                 f"--alpha is {config.alpha:g} (if {slope:g} is your "
                                 f"network's slope, pass --alpha {slope:g})",
                                 "your P equals the reference's with that slope to rounding")
    for activation in ACTIVATIONS:
        A, _ = mutants.forward(params, X, activation, config.alpha)
        if activation != config.activation and fits(evidence.user, {"P": A[-1]}):
            return activation_mismatch(activation, config.activation)
    return None


def activation_mismatch(theirs: str, asked: str) -> Diagnosis:
    """The target computes another hidden activation than ``--activation``."""
    return Diagnosis("convention", "activation-mismatch",
                     f"your forward computes {theirs}, and the check was asked for {asked} "
                     f"(--activation; leaky_relu by default): if {theirs} is your network's "
                     f"activation, pass --activation {theirs}",
                     f"your P equals the reference's with {theirs} to rounding")
