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
import threading
from pathlib import Path
from typing import IO

from twinmlp.conformance.report import Report
from twinmlp.conformance.settings import CheckSettings
from twinmlp.shared.threads import THREAD_VARIABLES

#: How much of the end of the target's stderr is kept (its last line says why it died).
TAIL_BYTES = 1 << 16


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
        # the target's output is not kept: stdout is dropped and only the end of stderr
        # is read, so a target that prints without end cannot fill the checker's memory
        # in a session of its own, so that processes the target starts end with it
        with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, env=child_environment(),
                              start_new_session=True) as child:
            tail = StderrTail(child.stderr)
            try:
                returncode = child.wait(timeout=settings.timeout)
            except subprocess.TimeoutExpired:
                return failed(settings, f"timed out after {settings.timeout:g} s (--timeout): "
                                        "an endless loop, or a target slower than the limit")
            finally:  # a time-out, Ctrl-C, or processes the target left behind
                end_process_group(child)
                tail.stop()
        if answer.is_file():
            try:
                return Report.from_dict(json.loads(answer.read_text()))
            except (ValueError, KeyError, TypeError):
                pass
        last = (tail.text().strip().splitlines() or [""])[-1]
        why = f" ({last})" if last else ""
        if returncode < 0:
            name = signal.Signals(-returncode).name
            return failed(settings, f"the target's process was killed by {name} before the "
                                    f"check finished (a crash, or memory exhaustion){why}")
        return failed(settings, f"the target ended the process with exit code "
                                f"{returncode} before the check finished (os._exit, a "
                                f"crash or memory exhaustion?){why}")


def end_process_group(child: subprocess.Popen) -> None:
    """Kill what is left of ``child``'s process group (it leads it) and reap ``child``."""
    try:
        if hasattr(os, "killpg"):
            os.killpg(child.pid, signal.SIGKILL)
        else:  # Windows: no process groups of this kind
            child.kill()
    except (ProcessLookupError, PermissionError):
        pass  # the group is empty: the child ended and started nothing that outlived it
    child.wait()


class StderrTail:
    """Reads a pipe to its end in a thread, keeping only its last :data:`TAIL_BYTES`."""

    def __init__(self, pipe: IO[bytes] | None) -> None:
        self.pipe, self.kept = pipe, b""
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        if self.pipe is None:
            return
        try:
            for chunk in iter(lambda: self.pipe.read1(1 << 16), b""):  # type: ignore[union-attr]
                self.kept = (self.kept + chunk)[-TAIL_BYTES:]
        except (OSError, ValueError):  # closed under a grandchild that kept it open
            pass

    def stop(self) -> None:
        """Wait briefly for the end (a grandchild may hold the pipe open)."""
        self.thread.join(timeout=2.0)

    def text(self) -> str:
        return self.kept.decode("utf-8", errors="replace")


def failed(settings: CheckSettings, reason: str) -> Report:
    """A report for a target that could not be checked."""
    return Report(settings.target, status="error", error=reason)
