"""Shared fixtures: the digits dataset."""

from __future__ import annotations

import pytest
from twinmlp.shared.data import Dataset, load_digits


@pytest.fixture(scope="session")
def digits() -> Dataset:
    """The notebook's digits split (1149 / 288 / 360)."""
    return load_digits()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip ``cuda``-marked tests cleanly where torch finds no GPU."""
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (torch.cuda.is_available() is False)")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)
