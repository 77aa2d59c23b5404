"""What the parity reports say: the per-operation table, the float64 shadow, the chaos-floor
line of ``train``, ulp distances, and failure messages that say how far off and where."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import assert_close, assert_identical
from twinmlp import numpy_impl
from twinmlp.cli import main
from twinmlp.ops import compare, first_differing, step_intermediates
from twinmlp.parity import nudge_state, ulp_distance
from twinmlp.shared.data import Dataset

# --- ulps and nudges ---


def test_ulp_distance_counts_representable_numbers_between() -> None:
    for dtype in (np.float32, np.float64):
        a = np.array([1.0, -2.5, 0.0, 1e-30], dtype)
        b = a.copy()
        for _ in range(3):
            b = np.nextafter(b, np.array(np.inf, dtype))
        np.testing.assert_array_equal(ulp_distance(a, b), 3)
        np.testing.assert_array_equal(ulp_distance(b, a), 3)
    # across zero: -tiny, -0 = +0, +tiny are 2 apart
    tiny = np.nextafter(np.float64(0), 1)
    assert ulp_distance(np.array([-tiny]), np.array([tiny]))[0] == 2
    assert ulp_distance(np.array([-0.0]), np.array([0.0]))[0] == 0


def test_nudge_moves_every_weight_by_exactly_one_ulp() -> None:
    model = numpy_impl.MLP([30, 20, 5], seed=0, dtype="float32")
    state = model.state_dict()
    nudged = nudge_state(state, 1)
    for name in state:
        distance = ulp_distance(state[name], nudged[name])
        np.testing.assert_array_equal(distance, 1 if name.startswith("W") else 0)
    ups = np.mean(nudged["W1"] > state["W1"])
    assert 0.4 < ups < 0.6  # random directions
    assert not np.array_equal(nudge_state(state, 2)["W1"], nudged["W1"])


# --- failure messages ---

def test_failure_message_names_tensor_maxima_worst_entry_and_count() -> None:
    theirs = np.array([[1.0, 2.0], [3.0, 4.0]])
    mine = theirs.copy()
    mine[1, 0] += 0.5
    mine[0, 1] += 1e-3
    with pytest.raises(AssertionError) as info:
        assert_close("grad W7", mine, theirs, 1e-6)
    message = str(info.value)
    assert message.startswith("grad W7: relative error")
    assert "max abs difference 5.000e-01" in message
    assert "max relative 1.667e-01" in message
    assert "worst entry at (1, 0): mine 3.5 vs theirs 3.0" in message
    assert "2 of 4 entries beyond tolerance" in message


def test_bit_identity_failure_says_how_far_and_where() -> None:
    theirs = np.array([1.0, 2.0, 3.0], np.float32)
    mine = theirs.copy()
    mine[2] = np.nextafter(mine[2], np.float32(4))
    with pytest.raises(AssertionError) as info:
        assert_identical("initial W1", mine, theirs)
    message = str(info.value)
    assert message.startswith("initial W1: not bit-identical; max abs difference 2.384e-07")
    assert "worst entry at (2,): mine 3.000000238418579 vs theirs 3.0" in message
    assert "1 of 3 entries differ" in message


# --- the first operation that differs ---

def test_a_changed_operation_is_the_first_that_differs(digits: Dataset,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from twinmlp.numpy_impl import functional as F

    X, y = digits.X_train[:40], digits.y_train[:40]

    def run() -> dict:
        return step_intermediates(numpy_impl.MLP([64, 16, 12, 10], seed=0, dtype="float64"),
                                  X, y, lr=0.1, decay=1e-4)

    reference = run()
    assert first_differing(compare(reference, run())) is None  # deterministic
    # softmax as exp(z − logsumexp z): the same function, other roundings
    monkeypatch.setattr(F, "softmax", lambda z, out=None: np.exp(F.log_softmax(z)))
    rows = compare(reference, run())
    assert first_differing(rows).name == "P"
    monkeypatch.undo()
    original = F.DERIVATIVES["leaky_relu"]
    monkeypatch.setitem(F.DERIVATIVES, "leaky_relu",
                        lambda z, a, g, alpha=0.01: original(z, a, g, alpha) * (1 + 2**-40))
    rows = compare(reference, run())
    assert [row.name for row in rows][:8] == ["Z1", "A1", "Z2", "A2", "Z3", "P", "loss", "G3"]
    assert first_differing(rows).name == "G2"
    assert all(row.differing == 0 for row in rows[:rows.index(first_differing(rows))])


def test_parity_ops_prints_the_table_for_both_dtypes_and_writes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)  # where the default --out runs/parity would be made
    assert main(["parity", "--ops", "--batch-size", "16"]) == 0
    assert list(tmp_path.iterdir()) == []
    out = capsys.readouterr().out
    assert "one step, float32, numpy vs torch-cpu" in out
    assert "one step, float64, numpy vs torch-cpu" in out
    for op in ("Z1", "A1", "P", "loss", "G2", "dW1", "db2", "new W1"):
        assert f"\n{op} " in out
    assert out.count("first operation whose bits differ") + out.count(
        "bits identical in every operation") == 2


# --- the float64 shadow and the chaos floor in the reports ---

def test_parity_shadow_writes_columns_panel_and_summary(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    out = tmp_path / "p"
    assert main(["parity", "--dtype", "float32", "--shadow", "--epochs", "1", "--floor-copies",
                 "1", "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "float64 shadow:" in text and "ends closer to float64" in text
    assert "parity PASS (chaos floor)" in text
    rows = list(csv.DictReader((out / "drift.csv").open()))
    assert len(rows) == 18
    shadow = np.array([[float(r["shadow numpy"]), float(r["shadow torch-cpu"])] for r in rows])
    # float32 against float64 from the same start: rounding-sized, never zero, never large
    assert np.all(shadow > 0) and np.all(shadow < 1e-4)
    assert (out / "drift.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_parity_without_floor_copies_says_not_judged_not_pass(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parity", "--dtype", "float32", "--epochs", "1", "--floor-copies", "0",
                 "--out", str(tmp_path / "p"), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert text.strip().splitlines()[-1].startswith(
        "parity NOT JUDGED (steps 1–18 within tolerance; the whole run is beyond the strict "
        "tiers and --floor-copies 0 measured no floor); wrote")
    assert "PASS" not in text


def test_train_float32_reports_the_floor_beside_the_twins(capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    assert main(["train", "--epochs", "3", "--floor-copies", "2", "--quiet"]) == 0
    out = capsys.readouterr().out
    line = out.strip().splitlines()[-1]
    assert line.startswith("parity PASS (chaos floor): twins agree on")
    assert "numpy against 2 copies of itself nudged by one ulp" in line
    assert main(["train", "--epochs", "3", "--floor-copies", "0", "--quiet"]) == 0
    assert "parity not judged (--floor-copies 0)" in capsys.readouterr().out


def test_float64_train_keeps_the_strict_tier_within_1000_steps_then_the_floor(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from twinmlp import tolerances

    monkeypatch.setitem(tolerances.TRAJECTORY, "float64", 0.0)  # rounding now breaks it
    # 10 epochs × 18 batches = 180 steps: the strict tier judges, and fails
    assert main(["train", "--dtype", "float64", "--epochs", "10", "--patience", "none",
                 "--lr", "0.05", "--quiet"]) == 1
    assert "parity FAIL (strict tier)" in capsys.readouterr().out
    # 60 epochs = 1,080 steps: past the trajectory tier, the chaos floor judges
    assert main(["train", "--dtype", "float64", "--epochs", "60", "--patience", "none",
                 "--lr", "0.05", "--floor-copies", "1", "--quiet"]) == 0
    assert "parity PASS (chaos floor)" in capsys.readouterr().out
