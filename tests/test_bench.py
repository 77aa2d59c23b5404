"""``twinmlp bench`` on a tiny grid: the output's fields, not its timings."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from twinmlp.bench import flops_per_sample
from twinmlp.cli import main


def test_flops_count_forward_weight_gradients_and_input_gradients() -> None:
    # forward 2·784·256 + 2·256·10, the same for weight gradients, input gradient of layer 2
    assert flops_per_sample([784, 256, 10]) == 2 * (2 * 784 * 256 + 2 * 256 * 10) + 2 * 256 * 10
    assert flops_per_sample([4, 3]) == 2 * (2 * 4 * 3)


def test_bench_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench"
    assert main(["bench", "--samples", "512", "--batch-sizes", "64,256", "--hidden", "16",
                 "--repeats", "1", "--warmup", "0", "--devices", "cpu", "--out", str(out),
                 "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "float32 matmul peak: cpu" in text and "| torch-autograd | cpu |" in text
    payload = json.loads((out / "bench.json").read_text())
    assert payload["peak_gflops"]["cpu"] > 0
    impls = {(c["impl"], c["batch_size"]) for c in payload["cells"]}
    assert impls == {(i, b) for i in ("numpy_impl", "torch_impl", "torch-autograd", "sklearn")
                     for b in (64, 256)}
    for cell in payload["cells"]:
        assert cell["layers"] == "784-16-10" and cell["seconds_per_epoch"] > 0
        assert cell["samples_per_second"] == pytest.approx(512 / cell["seconds_per_epoch"])
        assert 0 < cell["peak_fraction"] and cell["anchor"] == (cell["impl"] in (
            "torch-autograd", "sklearn"))
    rows = list(csv.DictReader((out / "bench.csv").open()))
    assert len(rows) == 8 and set(rows[0]) == set(payload["cells"][0])
    assert (out / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


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


def test_bench_rejects_a_missing_gpu(capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert main(["bench", "--devices", "cuda", "--quiet"]) == 2
    assert "torch finds no CUDA GPU" in capsys.readouterr().err
