"""Shared fixtures: the digits dataset; exact numerics around every CUDA test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from twinmlp.shared.data import Dataset, load_digits


@pytest.fixture(scope="session")
def digits() -> Dataset:
    """The notebook's digits split (1149 / 288 / 360)."""
    return load_digits()


@pytest.fixture(autouse=True)
def exact_numerics_on_cuda(request: pytest.FixtureRequest) -> Iterator[None]:
    """CUDA tests run as the CLI and the trainer do: IEEE float32 products, deterministic
    algorithms (``twinmlp.torch_impl.cuda.exact_cuda_numerics``)."""
    if "cuda" not in request.keywords:
        yield
        return
    from twinmlp.torch_impl.cuda import exact_cuda_numerics

    with exact_cuda_numerics():
        yield


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip ``cuda``-marked tests cleanly where torch finds no GPU."""
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (torch.cuda.is_available() is False)")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)
