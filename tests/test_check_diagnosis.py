"""Each mistake of docs/check.md's diagnoses, planted in the correct course-style fixture,
is named by the diagnosis and fails the check; the correct fixture passes with none."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.check_helpers import COURSE_TORCH, planted, quick
from twinmlp.conformance import mutants
from twinmlp.numpy_impl import plain

#: mistake planted → (the diagnosis's name, its kind, the activation the fixture uses)
SIGNATURES = {
    "sum-instead-of-mean": ("sum-instead-of-mean", "mistake", "leaky_relu"),
    "mean-twice": ("mean-twice", "mistake", "leaky_relu"),
    "mean-over-classes": ("mean-over-classes", "mistake", "leaky_relu"),
    "l2-missing": ("l2-missing", "mistake", "leaky_relu"),
    "l2-doubled": ("l2-doubled", "mistake", "leaky_relu"),
    "l2-not-normalised": ("l2-not-normalised", "mistake", "leaky_relu"),
    "l2-by-batch": ("l2-by-batch", "convention", "leaky_relu"),
    "biases-decayed": ("biases-decayed", "mistake", "leaky_relu"),
    "leaky-slope": ("leaky-slope", "mistake", "leaky_relu"),
    "derivative-at-zero": ("derivative-at-zero", "mistake", "leaky_relu"),
    "unshifted-softmax": ("unshifted-softmax", "mistake", "leaky_relu"),
    "log-clip": ("log-clip", "convention", "leaky_relu"),
    "gradient-ascent": ("gradient-ascent", "mistake", "leaky_relu"),
    "labels-off-by-one": ("labels-off-by-one", "mistake", "leaky_relu"),
    "labels-not-one-hot": ("labels-not-one-hot", "mistake", "leaky_relu"),
    "derivative-at-activation": ("derivative-at-activation", "mistake", "tanh"),
    "biases-not-updated": ("biases-not-updated", "mistake", "leaky_relu"),
    "learning-rate-mismatch": ("learning-rate-mismatch", "mistake", "leaky_relu"),
}


@pytest.mark.parametrize("mistake", SIGNATURES)
def test_each_planted_mistake_is_named_and_fails(mistake: str, tmp_path: Path) -> None:
    name, kind, activation = SIGNATURES[mistake]
    report = quick(planted(tmp_path, mistake, activation), activation=activation)
    assert report.status == "fail" and report.exit_code == 1, report.error
    assert report.diagnosis is not None
    assert (report.diagnosis.name, report.diagnosis.kind) == (name, kind), report.diagnosis


def test_transposed_weights_are_named_and_cannot_be_checked(tmp_path: Path) -> None:
    report = quick(planted(tmp_path, "transposed-weights"))
    assert report.exit_code == 2
    assert report.error.startswith("transposed weights: W1 has shape (32, 64)")
    assert "--layout out-in" in report.error


def test_transposed_square_weights_in_forward_are_named(tmp_path: Path) -> None:
    path = planted(tmp_path, "")
    # square hidden layer; the forward pass uses W2 transposed only where it is square
    path.write_text(path.read_text().replace(
        "z = a @ (W.T if MISTAKE == \"transposed-weights\" else W)",
        "z = a @ (W.T if W.shape[0] == W.shape[1] else W)"))
    report = quick(path, layers=(64, 32, 32, 10))
    assert report.diagnosis is not None and report.diagnosis.name == "transposed-weights"


@pytest.mark.parametrize("target", ["numpy", "torch"])
def test_the_correct_fixtures_pass_without_a_diagnosis(target: str, tmp_path: Path) -> None:
    path = planted(tmp_path, "") if target == "numpy" else COURSE_TORCH
    report = quick(path)
    assert report.status == "pass", (report.error, [r for r in report.rows if r.failed])
    assert report.diagnosis is None
    compared = [r for r in report.rows if r.verdict == "ok"]
    assert {r.quantity for r in compared} >= {"P", "grad W1", "grad b2 + L2", "10 steps",
                                               "central differences"}


def test_conventions_pass_once_mapped(tmp_path: Path) -> None:
    by_batch = quick(planted(tmp_path, "l2-by-batch"), conventions=_conventions("batch"))
    clipped = quick(planted(tmp_path, "log-clip"), conventions=_conventions("train", 1e-15,
                                                                              "add"))
    assert by_batch.status == "pass" and clipped.status == "pass"
    assert any("convention mapped" in note for note in by_batch.notes)


def test_a_step_that_changes_nothing_is_named(tmp_path: Path) -> None:
    path = planted(tmp_path, "")
    text = path.read_text().replace("    def backward(self, X, y):\n",
                                    "    def backward(self, X, y):\n        return\n")
    path.write_text(text)
    report = quick(path)
    assert report.exit_code == 1
    assert report.diagnosis is not None and report.diagnosis.name == "no-update"


def test_without_a_match_the_worst_entry_is_shown(tmp_path: Path) -> None:
    path = planted(tmp_path, "")
    path.write_text(path.read_text().replace("G = self.__dict__[f\"A{self.L}\"] - Y",
                                             "G = self.__dict__[f\"A{self.L}\"] ** 2 - Y"))
    report = quick(path)
    assert report.diagnosis is not None and report.diagnosis.kind == "unknown"
    assert "yours" in report.diagnosis.evidence and "vs reference" in report.diagnosis.evidence


def test_the_unmutated_mutants_are_the_plain_twin() -> None:
    rng = np.random.default_rng(1)
    params = {"W1": rng.normal(size=(5, 4)), "b1": rng.normal(size=4),
              "W2": rng.normal(size=(4, 3)), "b2": rng.normal(size=3)}
    X, y = rng.normal(size=(7, 5)), rng.integers(0, 3, 7)
    A, Z = plain.forward(params, X, "tanh", 0.01)
    expected = plain.backward(params, A, Z, y, "tanh", 0.01)
    got = mutants.gradients(params, X, y, "tanh", 0.01)
    assert all(np.array_equal(got[n], expected[n]) for n in params)


def _conventions(l2_by: str, log_eps: float | None = None, log_clip: str = "clip"):
    from twinmlp.conformance.settings import Conventions

    return Conventions(l2_by, log_eps, log_clip)


def test_a_difference_only_in_float32_is_named_so(tmp_path: Path) -> None:
    text = COURSE_TORCH.read_text()
    old = "        return a\n"
    assert old in text
    path = tmp_path / "half.py"  # float32 probabilities rounded through float16
    path.write_text(text.replace(old, "        if a.dtype == torch.float32:\n"
                                      "            a = a.half().float()\n" + old))
    report = quick(path, dtype="float32")
    first = report.first_failure()
    assert first is not None and (first.quantity, first.dtype) == ("P", "float32")
    assert all(r.verdict in ("ok", "skipped") for r in report.rows if r.dtype == "float64")
    assert report.diagnosis is not None and report.diagnosis.name == "float32-only"


# --- found in review: student mistakes in other forms than the table's ---

def test_a_one_sided_clip_of_the_log_is_a_convention_and_passes_once_declared(
        tmp_path: Path) -> None:
    # log(clip(P, 1e-7, 1)) was called "a learning-rate mismatch … for every loss"
    path = planted(tmp_path, "log-floor")
    report = quick(path)
    assert report.diagnosis is not None
    assert (report.diagnosis.name, report.diagnosis.kind) == ("log-clip", "convention")
    assert "--log-eps 1e-07 --log-form floor" in report.diagnosis.cause
    assert quick(path, conventions=_conventions("train", 1e-7, "floor")).status == "pass"


def test_log_of_softmax_is_named_not_taken_for_a_clipped_log(tmp_path: Path) -> None:
    # an infinite loss was said to "equal log(P + ε) with ε = 1e-15 to rounding"
    report = quick(planted(tmp_path, "log-of-softmax"))
    assert report.first_failure().quantity == "loss (large logits)"
    assert report.diagnosis is not None and report.diagnosis.name == "log-of-softmax"
    assert "log-softmax" in report.diagnosis.cause


def test_a_loss_off_by_a_factor_is_not_called_a_learning_rate_mismatch(
        tmp_path: Path) -> None:
    report = quick(planted(tmp_path, "loss-halved"))
    assert report.first_failure().quantity == "loss"
    assert report.diagnosis is not None and report.diagnosis.kind == "unknown"
    assert "learning rate" not in report.diagnosis.line()


def test_square_weights_not_transposed_in_backward_are_named(tmp_path: Path) -> None:
    report = quick(planted(tmp_path, "transposed-backward"), layers=(64, 32, 32, 10))
    assert report.exit_code == 1
    assert report.diagnosis is not None and report.diagnosis.name == "transposed-weights"
    assert "G @ W instead of G @ Wᵀ" in report.diagnosis.cause


def test_a_float32_slope_in_a_float64_backward_is_named(tmp_path: Path) -> None:
    # torch.where(Z > 0, 1.0, alpha) makes a float32 tensor: it was called "slope
    # 0.009999999776 there, the forward 0.01", true but not telling why
    report = quick(planted(tmp_path, "float32-slope"))
    assert report.diagnosis is not None and report.diagnosis.name == "float32-in-float64"
    assert "rounded to float32" in report.diagnosis.cause


def test_an_unknown_difference_says_no_known_signature_once(tmp_path: Path) -> None:
    path = planted(tmp_path, "")
    path.write_text(path.read_text().replace("G = self.__dict__[f\"A{self.L}\"] - Y",
                                             "G = self.__dict__[f\"A{self.L}\"] ** 2 - Y"))
    line = quick(path).diagnosis.line()
    assert line.count("no known signature") == 1 and line.startswith(
        "no known signature matches (worst entry")


def test_a_backward_that_returns_its_gradients_without_applying_them_is_told_so(
        tmp_path: Path) -> None:
    path = planted(tmp_path, "")
    text = path.read_text()
    old = ("            setattr(self, f\"W{l}\", W - sign * lr * dW)\n"
           "            if MISTAKE != \"biases-not-updated\":\n"
           "                setattr(self, f\"b{l}\", b - sign * lr * db)\n")
    assert old in text
    path.write_text(text.replace(old, "            grads[f\"W{l}\"], grads[f\"b{l}\"] = dW, db\n"
                                      "        return grads\n").replace(
        "        for l in range(self.L, 0, -1):\n            A_prev",
        "        grads = {}\n        for l in range(self.L, 0, -1):\n            A_prev"))
    report = quick(path)
    assert report.diagnosis is not None and report.diagnosis.name == "no-update"
    assert "returned but not applied" in report.diagnosis.cause
    assert ("the update did not change any parameter; backward(X, y) returns a dict: the "
            "check reads the step from the parameters, so backward must apply it in place"
            ) in report.notes


def test_float64_values_right_only_to_float32_precision_are_named(tmp_path: Path) -> None:
    path = planted(tmp_path, "")
    old = "        return e / e.sum(axis=1, keepdims=True)\n"
    assert old in path.read_text()
    path.write_text(path.read_text().replace(
        old, "        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)\n"))
    report = quick(path)
    assert report.first_failure().quantity == "P"
    assert report.diagnosis is not None and report.diagnosis.name == "float32-in-float64"
    assert "only to about float32 precision" in report.diagnosis.cause


@pytest.mark.parametrize("theirs", ["relu", "tanh"])
def test_another_activation_than_asked_is_named_with_the_option(theirs: str,
                                                                tmp_path: Path) -> None:
    # a ReLU class checked with the default leaky_relu was told "the leaky-ReLU slope: your
    # forward uses 0"; a tanh class got no diagnosis at all
    path = planted(tmp_path, "", "tanh" if theirs == "tanh" else "leaky_relu")
    if theirs == "relu":
        path.write_text(path.read_text().replace("self.alpha = alpha", "self.alpha = 0.0"))
    report = quick(path)
    assert report.diagnosis is not None
    assert (report.diagnosis.kind, report.diagnosis.name) == ("convention",
                                                              "activation-mismatch")
    assert f"pass --activation {theirs}" in report.diagnosis.cause
    assert quick(path, activation=theirs).status == "pass"


@pytest.mark.parametrize("returned", ["z", "np.log(a)"])
def test_a_forward_that_returns_logits_is_named(returned: str, tmp_path: Path) -> None:
    path = planted(tmp_path, "")
    old = "        return a\n"
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, f"        return {returned}\n"))
    report = quick(path)
    assert report.first_failure().quantity == "P"
    assert report.diagnosis is not None
    assert report.diagnosis.name == "forward-returns-logits"


def test_a_loss_with_its_l2_term_is_compared_without_it(tmp_path: Path) -> None:
    # the loss row used the class's own weight decay, whatever its constructor set
    path = planted(tmp_path, "")
    text = path.read_text()
    old = "        return -np.mean(log_p[np.arange(len(y)), y])\n"
    assert old in text and "weight_decay=0.0" in text
    l2 = ("        N = self.n_train or len(y)\n"
          "        l2 = sum((getattr(self, f'W{l}') ** 2).sum() for l in range(1, self.L + 1))\n"
          "        return -np.mean(log_p[np.arange(len(y)), y]) + "
          "self.weight_decay / (2 * N) * l2\n")
    path.write_text(text.replace(old, l2).replace("weight_decay=0.0", "weight_decay=0.5"))
    report = quick(path)
    assert report.status == "pass", [r for r in report.rows if r.failed]
    assert [r.verdict for r in report.rows if r.quantity.startswith("loss")] == ["ok", "ok"]
