"""Shared fixtures: the digits dataset."""

from __future__ import annotations

import pytest

from shared.data import Dataset, load_digits


@pytest.fixture(scope="session")
def digits() -> Dataset:
    """The notebook's digits split (1149 / 288 / 360)."""
    return load_digits()
