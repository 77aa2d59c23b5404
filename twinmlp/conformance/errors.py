"""Why a target could not be checked, in one line, and running the user's code safely.

Every call into the target goes through :func:`user_call`, so an exception (``sys.exit``
included) raised by the user's own code becomes a :class:`UserCodeError` that names what
was being called and keeps the user's traceback for the report, never a crash of the
checker.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from twinmlp.shared.errors import TwinMLPError


class CannotCheckError(TwinMLPError):
    """The target cannot be checked (exit code 2): not found, wrong shapes, no methods."""


class UserCodeError(CannotCheckError):
    """The target's own code raised; ``user_traceback`` holds its traceback."""

    def __init__(self, message: str, user_traceback: str = "") -> None:
        super().__init__(message)
        self.user_traceback = user_traceback


def user_call(what: str, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``function(*args, **kwargs)``; whatever it raises becomes a :class:`UserCodeError`
    whose message says ``what`` was called."""
    try:
        return function(*args, **kwargs)
    except SystemExit as stop:
        raise UserCodeError(f"{what} called sys.exit({stop.code!r})",
                            traceback.format_exc()) from None
    except Exception as error:  # the user's code: any exception is theirs to see
        text = str(error).splitlines()[0] if str(error) else ""
        raise UserCodeError(f"{what} raised {type(error).__name__}: {text}",
                            _user_frames(error)) from None


def _user_frames(error: BaseException) -> str:
    """The traceback without the checker's own frames (those in twinmlp/conformance)."""
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if "twinmlp/conformance" not in f.filename.replace("\\", "/")]
    lines = ["Traceback (most recent call last):\n", *traceback.format_list(frames),
             *traceback.format_exception_only(type(error), error)]
    return "".join(lines)
