"""Every example passes ``twinmlp check`` with the command its docstring gives."""

from __future__ import annotations

import ast
import dataclasses
import shlex
from pathlib import Path

import pytest

from twinmlp.cli import build_parser
from twinmlp.commands.check import settings_for
from twinmlp.conformance.engine import run_check

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def documented_command(path: Path) -> list[str]:
    docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
    lines = [line.strip() for line in docstring.splitlines()
             if line.strip().startswith("twinmlp check ")]
    assert len(lines) == 1, f"{path.name}: its docstring gives no one twinmlp check command"
    return shlex.split(lines[0])[1:]


def test_there_is_an_example_per_protocol() -> None:
    assert [p.name for p in EXAMPLES] == ["course_numpy.py", "course_torch.py",
                                          "explicit_protocol.py", "torch_module.py"]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_each_example_passes_with_its_documented_command(path: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    monkeypatch.chdir(ROOT)
    args = build_parser().parse_args(documented_command(path))
    settings = dataclasses.replace(settings_for(args, args.targets[0]), run_epochs=2,
                                   dtype="float64")
    report = run_check(settings)
    assert report.status == "pass", (report.error, [r for r in report.rows if r.failed])
