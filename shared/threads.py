"""How many threads NumPy's BLAS and torch may use: chosen by the size of the work.

A 64-32-10 network on batches of 64 multiplies 64 × 64 by 64 × 32 at most: splitting that
over two threads costs more in waking and joining them than it saves, and on a machine
where another program holds a core it costs far more, since every product then waits for
the thread that was descheduled (docs/benchmarks.md, "Threads", has the measurements). So
the twins ask for one thread below :data:`SINGLE_THREAD_BELOW` multiply-adds in the step's
largest product, and for the cores this process may use above it.

The user's own settings always win: an explicit ``threads`` (``fit(threads=)``, the
scikit-learn wrapper's ``threads``), else a count the caller set for everything inside a
:func:`user_threads` block (the command line's ``--threads``), else ``OMP_NUM_THREADS``,
``MKL_NUM_THREADS`` or ``OPENBLAS_NUM_THREADS`` in the environment, which the libraries
read themselves (the policy then changes nothing). The choice is applied by
:func:`thread_limit`, a scoped context that puts every library's previous count back on
exit: nothing here changes a process-wide setting for longer than the call that entered it.
"""

from __future__ import annotations

import itertools
import math
import numbers
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from twinmlp.shared.errors import TwinMLPError

#: The environment variables through which a user sets thread counts for the libraries.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")

#: Multiply-adds of the step's largest product below which the twins take one thread: two
#: win at most 1.35× there on a quiet machine and lose 3–5× while one other process is busy;
#: above it two win 1.7–2× (docs/benchmarks.md, "Threads").
SINGLE_THREAD_BELOW = 50_000_000


#: The count a :func:`user_threads` block set (the command line's ``--threads``), if any.
_USER_THREADS: ContextVar[int | None] = ContextVar("twinmlp_user_threads", default=None)


@dataclass(frozen=True)
class ThreadChoice:
    """A thread count and why: ``"--threads"``/``"threads="`` (the caller's), ``"environment"``
    (a ``*_NUM_THREADS`` variable: the libraries' own setting is left alone, ``count`` is
    None), or ``"policy"`` (chosen from the size of the products)."""

    count: int | None
    reason: str

    def describe(self) -> str:
        """One phrase for reports: ``1 thread (policy)``, ``environment (OMP_NUM_THREADS=4)``."""
        if self.count is None:
            return f"environment ({self.reason})"
        return f"{self.count} thread{'s' * (self.count != 1)} ({self.reason})"


def usable_cores() -> int:
    """Cores this process may run on: its CPU affinity, capped by a cgroup CPU quota (a
    container's ``cpu.max``), never ``os.cpu_count()``, which counts the whole machine."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cores = os.cpu_count() or 1
    quota = _cgroup_quota()
    return max(1, min(cores, quota)) if quota else max(1, cores)


def _cgroup_quota() -> int | None:
    """The CPU quota of this process's cgroup (v2 ``cpu.max``, v1 ``cfs_quota``), rounded
    up to whole cores; None when there is none."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            return math.ceil(int(quota) / int(period))
    except (OSError, ValueError):
        pass
    try:
        quota_us = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text())
        period_us = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
        if quota_us > 0:
            return math.ceil(quota_us / period_us)
    except (OSError, ValueError):
        pass
    return None


def environment_setting() -> str | None:
    """``NAME=value`` of the first thread variable the user set, else None."""
    for name in THREAD_VARIABLES:
        if os.environ.get(name, "").strip():
            return f"{name}={os.environ[name].strip()}"
    return None


def largest_product(layer_sizes: Sequence[int], batch_size: int) -> int:
    """Multiply-adds of the step's largest product, ``n · max_l d_{l-1} d_l`` (each layer's
    forward product and both backward products have that size, MATH.md §1, §5)."""
    widest = max(fan_in * fan_out for fan_in, fan_out in itertools.pairwise(layer_sizes))
    return batch_size * widest


def check_threads(threads: object, name: str = "threads") -> int | None:
    """``threads`` as a positive int (any integer type, NumPy's included), or None."""
    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, numbers.Integral) or threads < 1:
        raise TwinMLPError(f"{name} = {threads!r} is not allowed: expected a positive integer "
                           f"(or None for the automatic choice)")
    return int(threads)


def choose_threads(layer_sizes: Sequence[int], batch_size: int, threads: object = None,
                   source: str = "threads=") -> ThreadChoice:
    """The thread count for training ``layer_sizes`` on batches of ``batch_size``: the
    caller's ``threads`` if given, else the environment's, else the policy's."""
    explicit = check_threads(threads)
    if explicit is not None:
        return ThreadChoice(explicit, source)
    if _USER_THREADS.get() is not None:
        return ThreadChoice(_USER_THREADS.get(), "--threads")
    setting = environment_setting()
    if setting is not None:
        return ThreadChoice(None, setting)
    if largest_product(layer_sizes, batch_size) < SINGLE_THREAD_BELOW:
        return ThreadChoice(1, "policy")
    return ThreadChoice(usable_cores(), "policy")


def describe_policy() -> str:
    """The rule in force here, in one phrase (the bench's machine line)."""
    if _USER_THREADS.get() is not None:
        return f"--threads {_USER_THREADS.get()}"
    setting = environment_setting()
    if setting is not None:
        return f"the environment's ({setting})"
    return (f"1 below {SINGLE_THREAD_BELOW:,} multiply-adds in the step's largest product, "
            f"else {usable_cores()}")


@contextmanager
def thread_limit(choice: ThreadChoice) -> Iterator[ThreadChoice]:
    """Run the body with NumPy's BLAS (through threadpoolctl) and torch (when it is
    imported) limited to ``choice.count`` threads, and restore both counts on exit. A
    choice without a count (the environment's) changes nothing."""
    if choice.count is None:
        yield choice
        return
    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch")  # never import torch for a NumPy-only run
    previous = torch.get_num_threads() if torch is not None else None
    with threadpool_limits(limits=choice.count, user_api="blas"):
        if torch is not None:
            torch.set_num_threads(choice.count)
        try:
            yield choice
        finally:
            if torch is not None:
                torch.set_num_threads(previous)


@contextmanager
def user_threads(threads: object, name: str = "--threads") -> Iterator[None]:
    """Inside the block, every :func:`choose_threads` without an explicit count takes
    ``threads`` (when not None): how ``--threads`` reaches each ``fit`` a command runs."""
    token = _USER_THREADS.set(check_threads(threads, name))
    try:
        yield
    finally:
        _USER_THREADS.reset(token)
