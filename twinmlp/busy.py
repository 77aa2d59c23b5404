"""CPU-bound competitors for measuring a loaded machine (``twinmlp bench --busy N``).

Each competitor is a separate Python process spinning in a loop, started before the
measurement and stopped by its pid afterwards, whatever happens in between: a student's
laptop with a browser and an IDE open, made repeatable.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

#: What each competitor runs: pure-Python arithmetic, no I/O, no memory growth.
SPIN = "while True:\n    sum(i * i for i in range(1000))"


@contextmanager
def busy_processes(count: int) -> Iterator[list[int]]:
    """Start ``count`` CPU-bound processes, yield their pids, and stop them on exit."""
    processes = [subprocess.Popen([sys.executable, "-c", SPIN], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for _ in range(count)]
    try:
        yield [process.pid for process in processes]
    finally:
        for process in processes:
            process.kill()
        for process in processes:
            process.wait()
