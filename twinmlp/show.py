"""``twinmlp show NAME``: the NumPy and the torch implementation of NAME side by side."""

from __future__ import annotations

import difflib
import inspect
import shutil
import textwrap
from itertools import zip_longest
from pathlib import Path
from types import ModuleType
from typing import Any

from twinmlp.shared.errors import TwinMLPError

MODULES = ("functional", "model", "optim", "parallel")


def _implementations(package: ModuleType) -> dict[str, Any]:
    """Every public function, class and method of a twin, by its qualified name
    (``softmax``, ``MLP.backward``, ``MLP.backward_pass``, ``SGD.step``)."""
    import importlib

    found: dict[str, Any] = {}
    for module_name in MODULES:
        module = importlib.import_module(f"{package.__name__}.{module_name}")
        for name, value in vars(module).items():
            if getattr(value, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(value):
                found[name] = value
            elif inspect.isclass(value):
                found[name] = value
                for member, attribute in vars(value).items():
                    if inspect.isfunction(attribute) and (not member.startswith("__")
                                                          or member == "__init__"):
                        found[f"{name}.{member}"] = attribute
    return found


def resolve(name: str) -> tuple[Any, Any]:
    """The numpy_impl and torch_impl objects called ``name``; a method may be named
    without its class (``backward``) when that is unambiguous."""
    from twinmlp import numpy_impl, torch_impl
    from twinmlp.shared.model import TwinMLP

    mine, theirs = _implementations(numpy_impl), _implementations(torch_impl)
    # What both twins inherit from the shared shell is one object under both names.
    shell = {f"MLP.{member}": value for member, value in vars(TwinMLP).items()
             if inspect.isfunction(value) and not member.startswith("_")
             and f"MLP.{member}" not in mine}
    mine, theirs = {**mine, **shell}, {**theirs, **shell}
    name = name.removeprefix("numpy_impl.").removeprefix("torch_impl.")
    for module_name in MODULES:
        name = name.removeprefix(f"{module_name}.")
    if name not in mine:
        matches = [key for key in mine if key.split(".")[-1] == name]
        if len(matches) == 1:
            name = matches[0]
        elif matches:
            raise TwinMLPError(f"{name!r} names several twin implementations: "
                             + ", ".join(matches))
        else:
            close = difflib.get_close_matches(name, list(mine), n=5)
            hint = (f"did you mean {', '.join(close)}?" if close
                    else "try e.g. softmax, MLP.forward, MLP.backward_pass, SGD.step")
            raise TwinMLPError(f"no twin implementation called {name!r}; {hint}")
    return mine[name], theirs[name]


def _located_source(obj: Any) -> tuple[str, list[str]]:
    lines, start = inspect.getsourcelines(obj)
    path = Path(inspect.getsourcefile(obj) or "?")
    where = f"{path.parent.name}/{path.name}:{start}"
    return where, textwrap.dedent("".join(lines)).rstrip("\n").split("\n")


def side_by_side(name: str, width: int | None = None) -> str:
    """Both implementations of ``name`` in two columns; ``≠`` marks the lines that differ."""
    mine, theirs = resolve(name)
    if mine is theirs:
        where, lines = _located_source(mine)
        return "\n".join([f"{where}: written once, for both twins", "─" * len(where), *lines])
    (left_where, left), (right_where, right) = _located_source(mine), _located_source(theirs)
    total = width or shutil.get_terminal_size((160, 40)).columns
    column = max(30, (total - 3) // 2)
    out = [f"{left_where:<{column}}   {right_where}", f"{'─' * column}   {'─' * column}"]
    for a, b in zip_longest(left, right, fillvalue=""):
        marker = " " if a.strip() == b.strip() else "≠"
        a_parts, b_parts = _wrap(a, column), _wrap(b, column)
        for i, (pa, pb) in enumerate(zip_longest(a_parts, b_parts, fillvalue="")):
            out.append(f"{pa:<{column}} {marker if i == 0 else ' '} {pb}".rstrip())
    return "\n".join(out)


def _wrap(line: str, width: int) -> list[str]:
    """Wrap a source line, indenting its continuations four spaces past the line."""
    indent = " " * (len(line) - len(line.lstrip()) + 4)
    return textwrap.wrap(line, width, subsequent_indent=indent, drop_whitespace=True) or [""]
