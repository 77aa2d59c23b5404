"""Targets that cannot be checked end in one line and exit 2; NaN outputs in exit 1; every
target runs in its own process, so one that hangs or ends the interpreter does not stop a
batch. Cases that need no process of their own run in-process (faster)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.check_helpers import planted, quick
from twinmlp.cli import main

COURSE_HEAD = "import numpy as np\n\n\nclass MLP:\n"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def broken(folder: Path, old: str, new: str, name: str = "mlp.py") -> Path:
    """The correct fixture with ``old`` replaced by ``new``."""
    path = planted(folder, "")
    text = path.read_text()
    assert old in text
    return write(folder, name, text.replace(old, new, 1))


def test_no_such_file(tmp_path: Path) -> None:
    report = quick(tmp_path / "absent.py")
    assert report.exit_code == 2 and report.error == f"no such file: {tmp_path / 'absent.py'}"


def test_a_module_name_target_and_the_call_that_built_it() -> None:
    report = quick("tests.check_fixtures.course_torch:TorchMLP")
    assert report.status == "pass", report.error
    assert report.notes[0] == "built as TorchMLP([64, 32, 10])"
    assert quick("tests.no_such_module:MLP").error == "no module named 'tests.no_such_module'"


def test_no_model_found(tmp_path: Path) -> None:
    report = quick(write(tmp_path, "empty.py", "x = 1\n"))
    assert report.exit_code == 2 and report.error.startswith("no model found in empty.py")


def test_missing_methods(tmp_path: Path) -> None:
    path = broken(tmp_path, "    def backward(self, X, y):", "    def back(self, X, y):")
    path.write_text(path.read_text() + "\n\ndef make_model(sizes):\n    return MLP(sizes)\n")
    report = quick(path)
    assert report.exit_code == 2
    assert report.error.startswith("the model has no method backward()")


def test_wrong_shapes(tmp_path: Path) -> None:
    path = broken(tmp_path, "setattr(self, f\"b{l}\", np.zeros(fan_out))",
                  "setattr(self, f\"b{l}\", np.zeros(fan_out + 1))")
    report = quick(path)
    assert report.exit_code == 2 and report.error.startswith("b1 has shape (33,), expected (32,)")


def test_an_exception_in_forward_shows_the_users_traceback(tmp_path: Path) -> None:
    path = broken(tmp_path, "        self.A0 = X\n", "        self.A0 = X\n        1 / 0\n")
    report = quick(path)
    assert report.exit_code == 2
    assert report.error == "forward(X) raised ZeroDivisionError: division by zero"
    assert "1 / 0" in report.user_traceback and "conformance" not in report.user_traceback


def test_nan_output_fails_and_is_named(tmp_path: Path) -> None:
    path = broken(tmp_path, "        return a\n", "        return a * np.nan\n")
    report = quick(path)
    assert report.exit_code == 1
    first = report.first_failure()
    assert first is not None and (first.quantity, first.verdict) == ("P", "NaN")
    assert "NaN or infinite" in first.detail


@pytest.mark.parametrize(("code", "expected"), [
    ("        while True:\n            pass\n", "timed out after 3 s"),
    ("        import sys\n        sys.exit(3)\n", "forward(X) called sys.exit(3)"),
    ("        import os\n        os._exit(7)\n", "ended the process with exit code 7"),
])
def test_a_target_that_hangs_or_exits_is_one_line(code: str, expected: str, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = broken(tmp_path, "        self.A0 = X\n", "        self.A0 = X\n" + code)
    timeout = "3" if "while" in code else "120"
    assert main(["check", str(path), "--timeout", timeout]) == 2
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].startswith(f"{path}: ERROR (exit 2): ") and expected in out[-1]


def test_a_batch_checks_the_others_and_writes_json(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    good = planted(tmp_path, "")
    dying = broken(tmp_path, "        self.A0 = X\n",
                   "        self.A0 = X\n        import os\n        os._exit(1)\n", "dying.py")
    absent = tmp_path / "absent.py"
    report = tmp_path / "report.json"
    code = main(["check", str(dying), str(absent), str(good), "--dtype", "float64",
                 "--json", str(report)])
    lines = capsys.readouterr().out.strip().splitlines()
    assert code == 2 and len(lines) == 3
    assert lines[0].startswith(f"{dying}: ERROR") and lines[1].startswith(f"{absent}: ERROR")
    assert lines[2].startswith(f"{good}: PASS")
    saved = json.loads(report.read_text())
    assert [r["exit_code"] for r in saved] == [2, 2, 0]
    assert saved[2]["rows"][0]["quantity"] == "parameters (transplant)"


def test_options_that_do_not_fit_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    report = quick("numpy-twin", layers=(64, 10, 3))
    assert report.exit_code == 2
    assert report.error == ("--layers 64,10,3 does not fit digits: it has 64 features and 10 "
                            "classes")
    assert main(["check", "numpy-twin", "--lr", "0"]) == 2
    assert capsys.readouterr().err.strip() == ("twinmlp: error: --lr 0.0 is not allowed: "
                                               "expected a number > 0")


def test_help_says_how_a_target_is_found(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["check", "--help"])
    assert stop.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "else a function make_model" in text
    assert "f(layer_sizes), f(*layer_sizes) and f() in that order" in text
    assert "0 agrees, 1 differs" in text


def test_a_target_that_floods_its_output_does_not_fill_the_checkers_memory(
        tmp_path: Path) -> None:
    # the whole output used to be captured: a submission printing in a loop could exhaust
    # the memory of the checker, and with it the batch
    import resource

    from twinmlp.conformance.isolation import check_in_subprocess
    from twinmlp.conformance.settings import CheckSettings

    flood = ("import os, sys\n_line = b'x' * ((1 << 20) - 1) + b'\\n'\nfor _ in range(256):\n"
             "    os.write(1, _line)\n    os.write(2, _line)\nsys.stderr.write('last words\\n')\n"
             "sys.stderr.flush()\nos._exit(5)\n")
    path = write(tmp_path, "flood.py", flood)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    report = check_in_subprocess(CheckSettings(str(path), timeout=120))
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert report.exit_code == 2 and "exit code 5" in report.error
    assert report.error.endswith("(last words)")
    assert grown < 64 * 1024, f"the checker grew by {grown} KiB"


def test_help_says_a_batch_exits_with_the_worst_code(capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    with pytest.raises(SystemExit):
        main(["check", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "several targets exit with the worst of their codes" in text
    assert "--lr LR learning rate of the step (default 0.01)" in text
    with pytest.raises(SystemExit):
        main(["exercise", "--help"])
    text = capsys.readouterr().out
    assert "twinmlp check my_mlp/mlp.py" in text and "twinmlp train" not in text


def test_processes_a_target_starts_end_with_it(tmp_path: Path) -> None:
    # a submission that starts a process and hangs: the time-out used to kill only the
    # worker, leaving its child running
    import os
    import time

    from twinmlp.conformance.isolation import check_in_subprocess
    from twinmlp.conformance.settings import CheckSettings

    pid_file = tmp_path / "pid"
    code = ("import subprocess, sys\n"
            "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
            f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
            "while True:\n    pass\n")
    report = check_in_subprocess(CheckSettings(str(write(tmp_path, "spawns.py", code)),
                                               timeout=20))
    assert report.exit_code == 2 and report.error.startswith("timed out after 20 s")
    pid = int(pid_file.read_text())
    for _ in range(100):  # reaped by init: gone, or a zombie for a moment
        status = Path(f"/proc/{pid}/status")
        if not status.exists() or "State:\tZ" in status.read_text():
            break
        time.sleep(0.1)
    else:
        os.kill(pid, 9)  # the test's own grandchild: do not leave it behind
        raise AssertionError(f"process {pid} started by the target is still running")


def test_a_batch_of_passing_and_differing_targets_exits_1(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good, wrong = planted(tmp_path, ""), planted(tmp_path, "sum-instead-of-mean")
    assert main(["check", str(good), str(wrong), "--dtype", "float64"]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split(": ")[1] for line in lines] == ["PASS", "FAIL (exit 1)"]


def test_a_folder_as_target_says_to_pass_its_files(tmp_path: Path) -> None:
    report = quick(tmp_path)
    assert report.exit_code == 2
    assert report.error == f"{tmp_path} is a folder: pass its files, e.g. {tmp_path / '*.py'}"


def test_a_json_path_that_cannot_be_written_is_refused_before_checking(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # it used to end a whole batch in a FileNotFoundError traceback, after the checks
    absent = tmp_path / "no" / "report.json"
    assert main(["check", "numpy-twin", "--json", str(absent)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip() == (f"twinmlp: error: --json {absent}: no folder "
                                    f"{absent.parent}")
    assert main(["check", "numpy-twin", "--json", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip().endswith(f"--json {tmp_path}: is a folder")


def test_a_model_without_w1_attributes_is_pointed_at_the_explicit_protocol(
        tmp_path: Path) -> None:
    layered = (COURSE_HEAD + "    def __init__(self, sizes):\n"
               "        self.layers = [np.zeros((a, b)) for a, b in zip(sizes, sizes[1:])]\n"
               "    def forward(self, X):\n        return X\n"
               "    def backward(self, X, y):\n        pass\n")
    report = quick(write(tmp_path, "layered.py", layered))
    assert report.exit_code == 2
    assert report.error.startswith("the model has no attribute W1: a course-style model")
    assert "get_params() and set_params()" in report.error
