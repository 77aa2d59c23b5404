"""The mirror rule: ``numpy_impl`` and ``torch_impl`` expose the same public names, in the
same order, with the same signatures (names, kinds and defaults of parameters)."""

from __future__ import annotations

import inspect
import re
from types import ModuleType

import pytest

from twinmlp import numpy_impl, torch_impl

MODULES = ["functional", "plain", "model", "optim", "parallel"]
#: Parameters that only the torch twin has, by qualified name.
TORCH_ONLY = {"model.MLP.__init__": {"device"}, "parallel.DataParallelMLP.__init__": {"rank"}}


def public_definitions(module: ModuleType) -> list[str]:
    """Public names defined in ``module`` itself, in definition order."""
    names = []
    for name, value in vars(module).items():
        if name.startswith("_"):
            continue
        defined_here = getattr(value, "__module__", None) == module.__name__
        if defined_here or (name.isupper() and isinstance(value, dict)):
            names.append(name)
    return names


def signature_of(obj: object, skip: set[str]) -> list[tuple]:
    params = inspect.signature(obj).parameters.values()
    return [(p.name, p.kind, p.default) for p in params if p.name not in skip]


@pytest.mark.parametrize("module", MODULES)
def test_same_public_names_in_the_same_order(module: str) -> None:
    mine = public_definitions(getattr(numpy_impl, module))
    theirs = public_definitions(getattr(torch_impl, module))
    assert mine == theirs


@pytest.mark.parametrize("module", MODULES)
def test_same_signatures(module: str) -> None:
    mine_module, theirs_module = getattr(numpy_impl, module), getattr(torch_impl, module)
    for name in public_definitions(mine_module):
        mine, theirs = getattr(mine_module, name), getattr(theirs_module, name)
        if isinstance(mine, dict):
            assert list(mine) == list(theirs), name
            continue
        members = [("", mine, theirs)]
        if inspect.isclass(mine):
            mine_methods = [m for m in vars(mine) if not m.startswith("_") or m == "__init__"]
            theirs_methods = [m for m in vars(theirs) if not m.startswith("_") or m == "__init__"]
            assert mine_methods == theirs_methods, f"{name}: methods differ"
            members = [(f".{m}", getattr(mine, m), getattr(theirs, m)) for m in mine_methods]
        for suffix, a, b in members:
            if isinstance(a, property):
                continue
            if isinstance(a, ModuleType):  # each twin's own functional, optim
                assert a.__name__.split(".")[-1] == b.__name__.split(".")[-1], suffix
                continue
            if not callable(a):
                if suffix != ".backend":  # each twin's own name: "numpy", "torch"
                    assert a == b, f"{module}.{name}{suffix}"
                continue
            qualified = f"{module}.{name}{suffix}"
            skip = TORCH_ONLY.get(qualified, set())
            assert signature_of(a, set()) == signature_of(b, skip), qualified


LIBRARY_WORDS = re.compile(r"\b(NumPy|numpy|torch|tensors?|arrays?|ndarray|Tensor)\b")
#: Methods whose docstrings say what the torch twin does differently (devices, syncs).
DEVICE_NOTES = {"prepare_data", "prepare_order", "train_step", "read_scalars", "all_finite",
                "numerics"}


def normalised_doc(obj: object) -> str:
    return LIBRARY_WORDS.sub("ARRAY", inspect.getdoc(obj) or "")


@pytest.mark.parametrize("module", MODULES)
def test_docstrings_match_apart_from_the_array_library(module: str) -> None:
    """Same formulas in both docstrings: only the library's words may differ."""
    mine_module, theirs_module = getattr(numpy_impl, module), getattr(torch_impl, module)
    for name in public_definitions(mine_module):
        mine, theirs = getattr(mine_module, name), getattr(theirs_module, name)
        pairs = [(name, mine, theirs)]
        if inspect.isclass(mine):
            pairs = [(f"{name}.{m}", getattr(mine, m), getattr(theirs, m)) for m in vars(mine)
                     if not m.startswith("_") and m not in DEVICE_NOTES]
        for qualified, a, b in pairs:
            if callable(a) or isinstance(a, property):
                assert normalised_doc(a) == normalised_doc(b), f"{module}.{qualified}"


def test_numpy_impl_never_imports_torch() -> None:
    import subprocess
    import sys

    code = ("import sys, twinmlp.numpy_impl, twinmlp.shared.data, twinmlp.shared.trainer; "
            "sys.exit('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
