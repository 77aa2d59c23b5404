"""How data-parallel ranks split a global batch (MATH.md §14)."""

from __future__ import annotations

from twinmlp.shared.errors import TwinMLPError


def shard_bounds(n_rows: int, world_size: int, rank: int) -> tuple[int, int]:
    """``(start, stop)`` of rank ``rank``'s contiguous share of ``n_rows`` batch rows; the
    first ``n_rows mod world_size`` ranks take one row more (a share may be empty)."""
    if not 0 <= rank < world_size:
        raise TwinMLPError(f"rank = {rank} is not allowed: expected 0 … {world_size - 1}")
    base, extra = divmod(n_rows, world_size)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)
