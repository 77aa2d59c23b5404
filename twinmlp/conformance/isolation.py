"""Every target runs in a process of its own with a time limit, so a target that hangs,
calls ``os._exit``, crashes the interpreter or exhausts memory ends in one line (exit 2)
and a batch goes on with the next. The worker (:mod:`~twinmlp.conformance.worker`) writes
the report as JSON to a file; the target's own output is kept out of the checker's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from twinmlp.conformance.report import Report
from twinmlp.conformance.settings import CheckSettings

#: The thread settings of the BLAS libraries and of torch; the user's own always win.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def child_environment() -> dict[str, str]:
    """This environment, with one thread per library unless the user set any thread count:
    the check's products are 64 × 32, where more threads cost more than they save (a
    torch.nn check took 2.5× longer with two threads on two busy cores)."""
    env = dict(os.environ)
    if not any(name in env for name in THREAD_VARIABLES):
        env.update(dict.fromkeys(THREAD_VARIABLES, "1"))
    return env


def check_in_subprocess(settings: CheckSettings) -> Report:
    """The report of ``settings.target``, checked in a child process."""
    with tempfile.TemporaryDirectory(prefix="twinmlp-check-") as folder:
        request, answer = Path(folder) / "settings.json", Path(folder) / "report.json"
        request.write_text(json.dumps(settings.to_dict()))
        command = [sys.executable, "-m", "twinmlp.conformance.worker", str(request),
                   str(answer)]
        try:
            done = subprocess.run(command, capture_output=True, text=True,
                                  timeout=settings.timeout, stdin=subprocess.DEVNULL,
                                  env=child_environment())
        except subprocess.TimeoutExpired:
            return failed(settings, f"timed out after {settings.timeout:g} s (--timeout): an "
                                    "endless loop, or a target slower than the limit")
        if answer.is_file():
            try:
                return Report.from_dict(json.loads(answer.read_text()))
            except (ValueError, KeyError, TypeError):
                pass
        last = (done.stderr.strip().splitlines() or [""])[-1]
        why = f" ({last})" if last else ""
        if done.returncode < 0:
            name = signal.Signals(-done.returncode).name
            return failed(settings, f"the target's process was killed by {name} before the "
                                    f"check finished (a crash, or memory exhaustion){why}")
        return failed(settings, f"the target ended the process with exit code "
                                f"{done.returncode} before the check finished (os._exit, a "
                                f"crash or memory exhaustion?){why}")


def failed(settings: CheckSettings, reason: str) -> Report:
    """A report for a target that could not be checked."""
    return Report(settings.target, status="error", error=reason)
