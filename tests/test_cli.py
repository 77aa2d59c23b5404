"""The command line: the main job and its one-line errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from twinmlp.cli import build_parser, cuda_numerics, main


def test_train_both_twins_prints_accuracies_and_the_parity_verdict(
        capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["train", "--epochs", "5", "--dtype", "float64", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    assert "digits: 1149 train / 288 val / 360 test" in out
    assert "numpy (cpu, float64): test accuracy" in out
    assert "torch (cpu, float64): test accuracy" in out
    assert "parity PASS" in out and "identical test predictions 100.00 %" in out


def test_train_one_backend(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--backend", "numpy", "--epochs", "3", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "numpy (cpu, float32)" in out and "parity" not in out


def test_python_dash_m_entry_point() -> None:
    result = subprocess.run([sys.executable, "-m", "twinmlp", "train", "--backend", "numpy",
                             "--epochs", "2", "--quiet"], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert "test accuracy" in result.stdout


@pytest.mark.parametrize("bug", [TypeError("unsupported operand"), ValueError("a slip")])
def test_a_programming_error_keeps_its_traceback(bug: Exception,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the project's own checks (TwinMLPError) become one line and exit 2: a plain
    TypeError or ValueError from inside a command is a bug and must surface as one."""
    import twinmlp.commands.train

    def broken(args: object) -> int:
        raise bug

    monkeypatch.setattr(twinmlp.commands.train, "run", broken)
    with pytest.raises(type(bug), match=str(bug)):
        main(["train", "--epochs", "1", "--quiet"])


@pytest.mark.parametrize(("argv", "exact"), [
    (["parity"], True), (["bench"], True), (["train", "--device", "cuda:1"], True),
    (["evaluate", "run", "--device", "cuda"], True), (["train"], False),
    (["show", "softmax"], False), (["data", "list"], False),
])
def test_exact_cuda_numerics_around_the_commands_that_may_use_a_gpu(
        argv: list[str], exact: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    from twinmlp.torch_impl import cuda

    marker = object()
    monkeypatch.setattr(cuda, "exact_cuda_numerics", lambda: marker)
    assert (cuda_numerics(build_parser().parse_args(argv)) is marker) == exact
