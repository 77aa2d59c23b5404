"""Shared by the tests of ``twinmlp check``: fixtures with one planted mistake."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from twinmlp.conformance.engine import run_check
from twinmlp.conformance.report import Report
from twinmlp.conformance.settings import CheckSettings

FIXTURES = Path(__file__).resolve().parent / "check_fixtures"
COURSE_NUMPY = FIXTURES / "course_numpy.py"
COURSE_TORCH = FIXTURES / "course_torch.py"


def planted(folder: Path, mistake: str, activation: str = "leaky_relu") -> Path:
    """The NumPy course fixture with ``mistake`` planted, written into ``folder``."""
    text = COURSE_NUMPY.read_text()
    text = text.replace('MISTAKE = ""', f'MISTAKE = "{mistake}"', 1)
    text = text.replace('ACTIVATION = "leaky_relu"', f'ACTIVATION = "{activation}"', 1)
    path = folder / f"mlp_{mistake.replace('-', '_') or 'correct'}.py"
    path.write_text(text)
    return path


def quick(target: Path | str, **options: object) -> Report:
    """The in-process check, kept short: float64 only, a two-epoch run."""
    settings = CheckSettings(str(target), dtype="float64", run_epochs=2)
    return run_check(dataclasses.replace(settings, **options))
