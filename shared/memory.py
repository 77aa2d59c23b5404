"""Sizes that cannot fit are refused before anything is allocated.

A network of ``--layers 64,1000000000000,10`` or a ``bench --samples 1000000000000`` would
otherwise end in a ``MemoryError`` traceback (or the kernel's OOM killer) half-way through
allocating. :func:`check_fits` compares an estimate of the bytes about to be allocated
with the memory available — the RAM's, or a CUDA device's free memory — and refuses in one
line naming both. The estimates are lower bounds of the peak (what is alive at once while
allocating; training needs more still), so nothing that could have run is refused.
"""

from __future__ import annotations

import itertools
import os
from typing import Any

import numpy as np

from twinmlp.shared.errors import TwinMLPError


class SizeError(TwinMLPError):
    """Arrays that cannot fit in the memory available."""


def format_bytes(n: float) -> str:
    """``n`` bytes in binary units, three significant digits: ``"7.28 TiB"``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.3g} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def available_ram() -> int | None:
    """Bytes of RAM available to a new allocation: ``MemAvailable`` of /proc/meminfo
    (Linux), else free pages × page size (``os.sysconf``); ``None`` when neither is known."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024  # the kernel writes kB (KiB)
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (OSError, ValueError, AttributeError):
        return None


def available_memory(device: Any = "cpu") -> tuple[int | None, str]:
    """Bytes free where arrays of ``device`` live, and the name of that memory: a CUDA
    device's free memory (``torch.cuda.mem_get_info``), else the RAM's."""
    name = str(device)
    if name.startswith("cuda"):
        import torch

        free, _total = torch.cuda.mem_get_info(torch.device(name))
        return int(free), f"free on {name}"
    return available_ram(), "available in RAM"


def check_fits(n_bytes: float, what: str, device: Any = "cpu") -> None:
    """Refuse (:class:`SizeError`, one line) when ``n_bytes`` of ``what`` exceed the
    memory available on ``device``; nothing happens when that is unknown."""
    available, memory = available_memory(device)
    if available is not None and n_bytes > available:
        raise SizeError(f"{what} needs about {format_bytes(n_bytes)}, but only "
                        f"{format_bytes(available)} is {memory}: choose smaller sizes")


def parameter_count(layer_sizes: tuple[int, ...] | list[int]) -> int:
    """Weights and biases of an MLP of ``layer_sizes`` (``Σ (d_{l-1} + 1)·d_l``), as an
    exact Python integer (no overflow for absurd sizes)."""
    return sum((int(a) + 1) * int(b) for a, b in itertools.pairwise(layer_sizes))


def check_model_fits(layer_sizes: tuple[int, ...] | list[int], dtype: str,
                     device: Any = "cpu") -> None:
    """Refuse a network whose parameters cannot be allocated: they are drawn in float64
    on the host (shared/init.py), then copied into the model's ``dtype`` on ``device``."""
    count = parameter_count(layer_sizes)
    sizes = ",".join(map(str, layer_sizes))
    on_device = count * np.dtype(dtype).itemsize
    host = count * 8 + (0 if str(device).startswith("cuda") else on_device)
    check_fits(host, f"the network {sizes} ({count:,} parameters, drawn in float64)")
    if str(device).startswith("cuda"):
        check_fits(on_device, f"the network {sizes} ({count:,} {dtype} parameters)", device)


def check_rows_fit(n_rows: int, bytes_per_row: int, what: str, device: Any = "cpu") -> None:
    """Refuse ``n_rows`` rows of ``bytes_per_row`` each (say, a generated data set)."""
    check_fits(int(n_rows) * int(bytes_per_row), f"{what} ({int(n_rows):,} rows)", device)
