"""Finding and building the model a target names (the rule ``twinmlp check --help`` prints).

A TARGET is a Python file (``my_mlp.py``, or ``my_mlp.py:Name``), a ``module:name``, or a
built-in adapter (``torch-nn``, ``sklearn``, ``numpy-twin``). In a file or module, the
model is the one named; else a function ``make_model``; else the one class defined there
with a ``forward`` method and ``backward``, ``gradients`` or ``step``. It is built by trying
``f(layer_sizes)``, ``f(*layer_sizes)`` and ``f()`` in that order; the first that builds a
model whose parameters fit ``--layers`` is used, and the report says which.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from twinmlp.conformance.adapters import Adapter
from twinmlp.conformance.errors import CannotCheckError, UserCodeError, user_call
from twinmlp.conformance.settings import CheckSettings

RULE = __doc__.split("\n\n", 1)[1].strip()
BUILTIN_NAMES = ("torch-nn", "sklearn", "numpy-twin")
FACTORY_NAME = "make_model"


def load_adapter(settings: CheckSettings, layer_sizes: tuple[int, ...]) -> Adapter:
    """The adapter for ``settings.target``, its model built for ``layer_sizes``."""
    if settings.target in BUILTIN_NAMES:
        from twinmlp.conformance.builtin import make_builtin

        return make_builtin(settings.target, settings, layer_sizes)
    module, name, where = import_target(settings.target)
    maker = pick_maker(module, name, where)
    return build(maker, layer_sizes, settings.layout, where)


def import_target(target: str) -> tuple[ModuleType, str | None, str]:
    """The module a target names, the name after its colon, and how to call it."""
    path_text, _, name = target.partition(":") if not Path(target).exists() else (target, "",
                                                                                 "")
    path = Path(path_text)
    if path.suffix == ".py" or path.exists():
        if path.is_dir():
            raise CannotCheckError(f"{path_text} is a folder: pass its files, e.g. "
                                   f"{Path(path_text) / '*.py'}")
        if not path.is_file():
            raise CannotCheckError(f"no such file: {path_text}")
        module_name = f"twinmlp_check_target_{abs(hash(str(path.resolve())))}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise CannotCheckError(f"cannot import {path_text}: not a Python file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        sys.path.insert(0, str(path.resolve().parent))  # its own imports, as python would
        user_call(f"importing {path.name}", spec.loader.exec_module, module)
        return module, name or None, path.name
    if not name:
        raise CannotCheckError(f"no such file: {target} (a target is FILE.py, module:name or one "
                          f"of {', '.join(BUILTIN_NAMES)})")
    try:
        return importlib.import_module(path_text), name, f"{path_text}:{name}"
    except ModuleNotFoundError as error:
        if error.name and path_text.startswith(error.name):
            raise CannotCheckError(f"no module named {path_text!r}") from None
        raise UserCodeError(f"importing {path_text} raised ModuleNotFoundError: {error}",
                            "") from None
    except Exception as error:  # the user's module: its import raised
        raise UserCodeError(f"importing {path_text} raised {type(error).__name__}: {error}",
                            "") from None


def pick_maker(module: ModuleType, name: str | None, where: str) -> Callable[..., Any]:
    """The class or factory in ``module`` (see the module docstring)."""
    if name:
        maker = getattr(module, name, None)
        if not callable(maker):
            raise CannotCheckError(f"{where} has no class or function {name!r}")
        return maker
    factory = getattr(module, FACTORY_NAME, None)
    if callable(factory):
        return factory
    classes = [c for _, c in inspect.getmembers(module, inspect.isclass)
               if c.__module__ == module.__name__ and callable(getattr(c, "forward", None))
               and any(callable(getattr(c, m, None)) for m in ("backward", "gradients",
                                                                "step"))]
    if not classes:
        raise CannotCheckError(f"no model found in {where}: expected a function {FACTORY_NAME}"
                          "(layer_sizes) or a class with forward() and backward(), "
                          "gradients() or step()")
    if len(classes) > 1:
        names = ", ".join(c.__name__ for c in classes)
        raise CannotCheckError(f"{where} defines several model classes ({names}): name one, "
                          f"e.g. {where}:{classes[0].__name__}")
    return classes[0]


def build(maker: Callable[..., Any], layer_sizes: tuple[int, ...], layout: str,
          where: str) -> Adapter:
    """Try the three calls in turn; the first whose model fits ``layer_sizes`` wins."""
    sizes = list(layer_sizes)
    label = getattr(maker, "__name__", "model")
    attempts = [(f"{label}({sizes})", (sizes,)), (f"{label}({', '.join(map(str, sizes))})",
                                                  tuple(sizes)), (f"{label}()", ())]
    reasons = []
    for call, args in attempts:
        try:
            model = user_call(call, maker, *args)
            adapter = adapt(model, f"{call} from {where}", layer_sizes, layout)
            adapter.load(_zeros(layer_sizes), adapter.native_dtype())  # shapes fit
        except CannotCheckError as error:
            reasons.append((call, error))
            continue
        adapter.notes.insert(0, f"built as {call}")
        return adapter
    # the most telling reason: a model that was built but does not fit, else the first
    call, error = next(((c, e) for c, e in reasons if not isinstance(e, UserCodeError)),
                       reasons[0])
    if isinstance(error, UserCodeError):
        raise UserCodeError(f"could not build the model: {error}", error.user_traceback)
    raise CannotCheckError(f"{error} (built as {call})") from None


def adapt(model: Any, description: str, layer_sizes: tuple[int, ...], layout: str
          ) -> Adapter:
    """The adapter for a built model: the explicit protocol where it has ``get_params``,
    else the course style."""
    if callable(getattr(model, "get_params", None)) and callable(getattr(model, "set_params",
                                                                         None)):
        from twinmlp.conformance.protocol import ProtocolAdapter

        return ProtocolAdapter(model, description, layer_sizes, layout)
    from twinmlp.conformance.course import CourseAdapter

    return CourseAdapter(model, description, layer_sizes, layout)


def _zeros(layer_sizes: tuple[int, ...]) -> dict[str, Any]:
    import numpy as np

    from twinmlp.conformance.adapters import expected_shapes

    return {name: np.zeros(shape) for name, shape in expected_shapes(layer_sizes).items()}
