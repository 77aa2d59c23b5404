"""Sizes that cannot fit are refused before allocation, in one line naming the estimated
bytes and the memory available (``twinmlp.shared.memory``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from twinmlp import numpy_impl, torch_impl
from twinmlp.cli import main
from twinmlp.shared import memory
from twinmlp.shared.memory import SizeError, check_model_fits, format_bytes, parameter_count

HUGE_LAYERS = [64, 1_000_000_000_000, 10]  # 11 × 10¹² parameters: 80 TiB in float64
BYTES_LINE = r"needs about [\d.]+ [KMGTP]iB, but only [\d.]+ [KMGTP]?i?B is available in RAM"


def test_available_ram_is_known_here() -> None:
    assert memory.available_ram() > 0


def test_format_bytes() -> None:
    assert format_bytes(512) == "512 B"
    assert format_bytes(3 * 1024 ** 3) == "3 GiB"
    assert format_bytes(88e12) == "80 TiB"


def test_parameter_count_is_exact() -> None:
    assert parameter_count([4, 3, 2]) == 5 * 3 + 4 * 2
    assert parameter_count(HUGE_LAYERS) == 65 * 10 ** 12 + (10 ** 12 + 1) * 10


@pytest.mark.parametrize("twin", [numpy_impl, torch_impl])
def test_an_impossible_network_is_refused_before_allocation(twin: object) -> None:
    with pytest.raises(SizeError, match=r"the network 64,1000000000000,10 \(75,000,000,000,"
                                        r"010 parameters, drawn in float64\) " + BYTES_LINE):
        twin.MLP(HUGE_LAYERS)


def test_layers_option_too_large_is_one_line(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["train", "--backend", "numpy", "--layers", "64,1000000000000,10",
                 "--epochs", "1", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "MemoryError" not in err
    assert len(err.strip().splitlines()) == 1
    assert "the network 64,1000000000000,10" in err and "is available in RAM" in err


def test_bench_samples_too_large_is_one_line(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["bench", "--samples", "1000000000000", "--backends", "numpy",
                 "--out", str(tmp_path / "bench")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "bench's random data (1,000,000,000,000 rows) needs about" in err
    assert not (tmp_path / "bench" / "bench.json").exists()


def test_cuda_models_are_checked_against_the_device_memory(
        monkeypatch: pytest.MonkeyPatch) -> None:
    free = 2 * 1024 ** 3
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (free, 4 * free))
    check_model_fits([784, 4096, 10], "float32", "cuda:0")  # 13 MiB: fits
    with pytest.raises(SizeError, match=r"\(1,011,000,010 float32 parameters\) needs about "
                                        r"3.77 GiB, but only 2 GiB is free on cuda:0"):
        check_model_fits([1000, 1_000_000, 10], "float32", "cuda:0")
