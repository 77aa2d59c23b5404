"""``twinmlp bench`` on a tiny grid: the output's fields, not its timings."""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

import numpy as np
import pytest

from twinmlp.bench import (
    floor_epoch_runner,
    flops_per_sample,
    machine,
    machine_line,
    time_rounds,
)
from twinmlp.cli import main


def test_flops_count_forward_weight_gradients_and_input_gradients() -> None:
    # forward 2·784·256 + 2·256·10, the same for weight gradients, input gradient of layer 2
    assert flops_per_sample([784, 256, 10]) == 2 * (2 * 784 * 256 + 2 * 256 * 10) + 2 * 256 * 10
    assert flops_per_sample([4, 3]) == 2 * (2 * 4 * 3)


def test_bench_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench"
    assert main(["bench", "--samples", "512", "--batch-sizes", "64,256", "--hidden", "16",
                 "--repeats", "2", "--warmup", "0", "--devices", "cpu", "--out", str(out),
                 "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "float32 matmul peak: cpu" in text and "| torch-autograd | cpu |" in text
    assert "| floor (numpy) | cpu | 784-16-10 | 64 |" in text
    payload = json.loads((out / "bench.json").read_text())
    assert payload["peak_gflops"]["cpu"] > 0
    info = payload["machine"]
    assert info["isa"] in ("AVX-512", "AVX2", "AVX", "SSE", "unknown") and info["cores"] >= 1
    assert info["numpy_blas"]["name"] and info["torch_blas"] and info["torch_threads"] >= 1
    assert payload["machine_line"] in text and info["cpu"] in payload["machine_line"]
    impls = {(c["impl"], c["batch_size"]) for c in payload["cells"]}
    assert impls == {(i, b) for i in ("numpy_impl", "torch_impl", "torch-autograd", "sklearn",
                                      "floor (numpy)", "floor (torch)") for b in (64, 256)}
    floors = {(c["impl"], c["batch_size"]): c for c in payload["cells"] if c["role"] == "floor"}
    for cell in payload["cells"]:
        assert cell["layers"] == "784-16-10" and cell["seconds_per_epoch"] > 0
        assert cell["seconds_min"] <= cell["seconds_per_epoch"] <= cell["seconds_max"]
        assert cell["role"] == {"torch-autograd": "anchor", "sklearn": "anchor"}.get(
            cell["impl"], "floor" if cell["impl"].startswith("floor") else "twin")
        assert 0 < cell["peak_fraction"]
        assert cell["seconds_min"] == min(cell["epoch_seconds"])
        assert cell["repeats"] == len(cell["epoch_seconds"]) == 2
        if cell["role"] == "floor":  # the floor epochs timed in the same rounds
            library = cell["impl"][len("floor ("):-1]
            assert cell["floor_ratio"] == 1
            per_sample = 2 * 2 * 784 * 16
            assert cell["samples_per_second"] == pytest.approx(
                cell["gflops"] * 1e9 / per_sample)
            assert library in ("numpy", "torch")
        else:
            assert cell["samples_per_second"] == pytest.approx(512 / cell["seconds_per_epoch"])
            library = "numpy" if cell["impl"] in ("numpy_impl", "sklearn") else "torch"
            # the ratio is to the floor of its own library, round by round
            floor = floors[f"floor ({library})", cell["batch_size"]]
            assert cell["floor_seconds"] == floor["seconds_per_epoch"]
            assert cell["floor_ratio"] == pytest.approx(statistics.median(
                a / b for a, b in zip(cell["epoch_seconds"], floor["epoch_seconds"],
                                      strict=True)))
    speedups = {(r["impl"], r["batch_size"]): r for r in payload["speedups"]}
    assert set(speedups) == {(i, b) for i in ("numpy_impl", "torch_impl") for b in (64, 256)}
    cells = {(c["impl"], c["batch_size"]): c for c in payload["cells"]}
    sk, ours = cells["sklearn", 64], cells["numpy_impl", 64]
    per_round = [a / b for a, b in zip(sk["epoch_seconds"], ours["epoch_seconds"], strict=True)]
    assert speedups["numpy_impl", 64]["speedup"] == pytest.approx(statistics.median(per_round))
    assert speedups["numpy_impl", 64]["speedup_min"] == pytest.approx(min(per_round))
    assert speedups["numpy_impl", 64]["speedup_max"] == pytest.approx(max(per_round))
    rows = list(csv.DictReader((out / "bench.csv").open()))
    assert len(rows) == 12 and set(rows[0]) == set(payload["cells"][0])
    assert [float(v) for v in rows[0]["epoch_seconds"].split()] == pytest.approx(
        payload["cells"][0]["epoch_seconds"])
    assert (out / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_batch_larger_than_the_data_is_reported_under_its_real_size(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench"
    assert main(["bench", "--samples", "100", "--batch-sizes", "64,128,512", "--hidden", "4",
                 "--backends", "numpy", "--devices", "cpu", "--no-anchors", "--repeats", "1",
                 "--warmup", "0", "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert ("--batch-sizes 128 is larger than the 100 rows: an epoch is one batch of 100, "
            "reported as batch size 100") in text
    cells = json.loads((out / "bench.json").read_text())["cells"]
    # 128 and 512 are both one batch of all 100 rows: measured once, under 100
    assert sorted((c["impl"], c["batch_size"]) for c in cells) == [
        ("floor (numpy)", 64), ("floor (numpy)", 100), ("numpy_impl", 64),
        ("numpy_impl", 100)]


def test_rounds_time_every_run_side_by_side_in_a_rotated_order() -> None:
    # warm-up rounds untimed; then each round one epoch of every run, the order rotated
    calls: list[tuple[str, int]] = []
    runs = {name: (lambda index, name=name: calls.append((name, index))) for name in "abc"}
    ticks: list[int] = []
    times = time_rounds(runs, "cpu", warmup=1, repeats=3, tick=lambda: ticks.append(1))
    assert calls == [("a", 0), ("b", 0), ("c", 0), ("b", 1), ("c", 1), ("a", 1),
                     ("c", 2), ("a", 2), ("b", 2), ("a", 3), ("b", 3), ("c", 3)]
    assert {name: len(seconds) for name, seconds in times.items()} == {"a": 3, "b": 3, "c": 3}
    assert len(ticks) == 12 and all(s >= 0 for seconds in times.values() for s in seconds)


def test_machine_line_names_the_blas_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    info = machine()
    assert info["environment"]["OPENBLAS_CORETYPE"] == "Haswell"
    assert "OPENBLAS_CORETYPE=Haswell" in machine_line(info)
    monkeypatch.delenv("OPENBLAS_CORETYPE")
    assert "BLAS environment: none set" in machine_line(
        {**machine(), "environment": {}})


def test_floor_epoch_computes_the_two_products(monkeypatch: pytest.MonkeyPatch) -> None:
    # the floor must do the step's arithmetic: both products, on every batch of the epoch
    X = np.arange(10 * 6, dtype=np.float32).reshape(10, 6) / 60
    calls: list[tuple] = []
    real = np.matmul

    def spy(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
        calls.append((a.shape, b.shape, out.shape))
        return real(a, b, out=out)

    run = floor_epoch_runner("numpy", "cpu", [6, 3, 2], X, batch_size=4)
    monkeypatch.setattr(np, "matmul", spy)
    run(0)
    assert calls == [((4, 6), (6, 3), (4, 3)), ((6, 4), (4, 3), (6, 3))] * 2 + [
        ((2, 6), (6, 3), (2, 3)), ((6, 2), (2, 3), (6, 3))]


@pytest.mark.slow
def test_bench_scaling_runs_real_processes(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--dataset", "digits", "--hidden", "16", "--batch-sizes", "128",
                 "--repeats", "1", "--warmup", "0", "--devices", "cpu", "--no-anchors",
                 "--scaling", "1,2", "--scaling-epochs", "2", "--out", str(tmp_path),
                 "--quiet"]) == 0
    scaling = json.loads((tmp_path / "bench.json").read_text())["scaling"]
    assert [row["processes"] for row in scaling] == [1, 2]
    assert scaling[0]["speedup"] == 1.0 and scaling[1]["seconds_per_epoch"] > 0
    assert "| cpu | 16 | 128 | 2 |" in capsys.readouterr().out
