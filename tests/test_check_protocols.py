"""The explicit protocol and the built-in targets pass at the strict float64 tiers, with
their conventions mapped and said; what a built-in cannot do is one line."""

from __future__ import annotations

import pytest

from tests.check_helpers import FIXTURES, quick


@pytest.mark.parametrize(("target", "mapped"), [
    ("numpy-twin", None),
    ("torch-nn", "L2 mapped: torch.optim.SGD weight_decay = λ/N on the weights"),
    ("sklearn", "L2 mapped: scikit-learn divides alpha by the batch size"),
])
def test_builtin_targets_pass_at_the_strict_tiers(target: str, mapped: str | None) -> None:
    report = quick(target)
    assert report.status == "pass", (report.error, [r for r in report.rows if r.failed])
    assert report.diagnosis is None
    strict = [r for r in report.rows if r.verdict == "ok" and r.dtype == "float64"]
    assert {"P", "loss (large logits)", "grad W1 + L2", "10 steps"} <= {r.quantity
                                                                        for r in strict}
    if mapped:
        assert any(note.startswith(mapped) for note in report.notes)


def test_sklearn_says_its_clipped_log_is_a_mapped_convention() -> None:
    report = quick("sklearn")
    assert any(note.startswith("convention mapped: loss through log(clip(P, ε, 1 − ε))")
               for note in report.notes)
    assert quick("sklearn", activation="leaky_relu").error.startswith(
        "scikit-learn's MLPClassifier has no leaky_relu")


def test_the_explicit_protocol_with_the_linear_layout() -> None:
    path = FIXTURES / "protocol_out_in.py"
    report = quick(path, layout="out-in")
    assert report.status == "pass", (report.error, [r for r in report.rows if r.failed])
    assert any("protocol: get_params/set_params, forward, gradients; layout out-in" in n
               for n in report.notes)
    refused = quick(path)
    assert refused.exit_code == 2 and refused.error.startswith("transposed weights")
