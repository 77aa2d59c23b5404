"""Shared fixtures: the digits dataset; exact numerics around every CUDA test; the
``--activation NAME`` option, which keeps only the cases parametrised with that activation.

The suite leaves the checkout as it found it: no bytecode caches (here and in the
subprocesses it starts), no hypothesis folder (pyproject.toml turns pytest's own
cache off)."""

from __future__ import annotations

import os
import sys
import tempfile

sys.dont_write_bytecode = True  # before anything of the project is imported
os.environ["PYTHONDONTWRITEBYTECODE"] = "1"  # the CLI and notebook kernels the tests start
# hypothesis makes its folder lazily, at the first test: outside the checkout
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY",
                      os.path.join(tempfile.gettempdir(), "twinmlp-hypothesis"))

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

from twinmlp.shared.data import Dataset, load_digits  # noqa: E402

settings.register_profile("no-database", database=None)
settings.load_profile("no-database")


@pytest.fixture(scope="session")
def digits() -> Dataset:
    """The notebook's digits split (1149 / 288 / 360)."""
    return load_digits()


@pytest.fixture
def data_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data root for the test, through ``TWINMLP_DATA``."""
    root = tmp_path / "data"
    monkeypatch.setenv("TWINMLP_DATA", str(root))
    return root


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


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--activation", metavar="NAME", default=None,
                     help="run only the test cases parametrised with this activation "
                          "(an argument named 'activation'); everything else is deselected")


def select_activation(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep the items whose ``activation`` parameter is ``--activation`` (``-k elu`` would
    also match gelu, relu and leaky_relu)."""
    from twinmlp.shared.config import ACTIVATION_NAMES

    name = config.getoption("--activation")
    if name is None:
        return
    if name not in ACTIVATION_NAMES:
        raise pytest.UsageError(f"--activation {name}: not one of "
                                + ", ".join(ACTIVATION_NAMES))
    keep, drop = [], []
    for item in items:
        params = getattr(item, "callspec", None)
        chosen = params is not None and params.params.get("activation") == name
        (keep if chosen else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep one activation's cases under ``--activation``; skip ``cuda``-marked tests
    cleanly where torch finds no GPU."""
    select_activation(config, items)
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (torch.cuda.is_available() is False)")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)
