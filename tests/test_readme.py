"""The README's usage examples run as printed and print what the README quotes.

Each digits example in the README's ``console`` blocks (``train``, ``evaluate``,
``parity --epochs 3``, ``show``) runs in a temporary folder with the installed
``twinmlp``; every line the README quotes under it (``...`` and blank lines aside, an
annotation after two spaces and ``#`` cut off) must be a line of the command's output.
Timings and rounding-level differences (a ``4.688e-16`` and the step it was seen at)
depend on the machine, so they are matched as patterns; everything else — accuracies,
verdicts, tolerances, ``show``'s file names and line numbers — must be the same. The
Fashion-MNIST examples run only where Debian's ``dataset-fashion-mnist`` is installed,
and there every number is a pattern (float32 runs of 10,000 steps differ by machine).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
TWINMLP = Path(sys.executable).parent / "twinmlp"
FASHION = Path("/usr/share/datasets/fashion-mnist")
#: The digits examples this test runs, by the start of their arguments, in README order.
DIGITS = (("train", "--backend", "numpy"), ("evaluate",), ("parity", "--epochs", "3"),
          ("show", "softmax"))
TIMING = re.compile(r"\d+(?:\.\d+)?(?= (?:s|ms/epoch)\b)")
ROUNDING = re.compile(r"\b\d\.\d+e-\d+\s+\d+\b")
NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?(?:e-\d+)?")


def examples() -> list[tuple[list[str], list[str]]]:
    """(arguments after ``twinmlp``, quoted output lines) for every ``$ .venv/bin/twinmlp``
    line of the README's console blocks."""
    found: list[tuple[list[str], list[str]]] = []
    for block in re.findall(r"```console\n(.*?)```", README.read_text(), re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                words = shlex.split(line[2:], comments=True)
                assert words[0] == ".venv/bin/twinmlp", f"not as after the Quickstart: {line}"
                found.append((words[1:], []))
            elif found and line.strip() not in ("", "..."):
                found[-1][1].append(re.sub(r"\s{2,}#.*$", "", line).strip())
    return found


def pattern(quoted: str, loose: bool = False) -> re.Pattern[str]:
    """A quoted line as a pattern: its words exact, the space between them any, timings
    and rounding-level differences (``loose``: every number) any."""
    marked = (NUMBER.sub("\0N", quoted) if loose
              else ROUNDING.sub("\0R", TIMING.sub("\0T", quoted)))
    words = [re.escape(word) for word in marked.split()]
    text = r"\s+".join(words)
    for mark, regex in (("\0N", NUMBER.pattern), ("\0T", TIMING.pattern.split("(?=")[0]),
                        ("\0R", ROUNDING.pattern.replace(r"\b", ""))):
        text = text.replace(re.escape(mark), regex).replace(mark, regex)
    return re.compile(text)


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> list[str]:
    done = subprocess.run([str(TWINMLP), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})
    assert done.returncode == 0, f"twinmlp {' '.join(args)} exited {done.returncode}: " \
                                 f"{done.stderr[-500:]}"
    return [line.strip() for line in done.stdout.splitlines()]


def assert_quoted_lines_printed(args: list[str], quoted: list[str], printed: list[str],
                                loose: bool = False) -> None:
    missing = [q for q in quoted if not any(pattern(q, loose).fullmatch(p) for p in printed)]
    assert not missing, (f"README quotes lines `twinmlp {' '.join(args)}` no longer prints: "
                         f"{missing}\nit printed:\n" + "\n".join(printed))


def test_the_pattern_keeps_what_must_not_change() -> None:
    line = "numpy (cpu, float64): test accuracy 96.39 % (2000 epochs; 5.3 s, 2.7 ms/epoch)"
    assert pattern(line).fullmatch(line.replace("5.3 s", "31.0 s").replace("2.7", "15.5"))
    assert not pattern(line).fullmatch(line.replace("96.39", "96.11"))
    row = "torch-cpu grad W1              4.688e-16       33      1e-09  ok"
    assert pattern(row).fullmatch("torch-cpu grad W1  8.138e-16  7  1e-09  ok")
    assert not pattern(row).fullmatch("torch-cpu grad W1  8.138e-16  7  1e-05  ok")
    assert not pattern("numpy_impl/functional.py:130").fullmatch("numpy_impl/functional.py:114")


@pytest.mark.slow
def test_the_digits_examples_print_what_the_readme_quotes(tmp_path: Path) -> None:
    found = examples()
    chosen = [(args, quoted) for args, quoted in found
              if any(tuple(args[:len(start)]) == start for start in DIGITS)]
    assert [args[0] for args, _ in chosen] == [start[0] for start in DIGITS]
    for args, quoted in chosen:  # in README order: evaluate reads train's run folder
        assert quoted, f"the README quotes nothing under twinmlp {' '.join(args)}"
        assert_quoted_lines_printed(args, quoted, run(args, tmp_path))


@pytest.mark.slow
@pytest.mark.skipif(not FASHION.is_dir(), reason=f"needs Debian's Fashion-MNIST in {FASHION}")
def test_the_fashion_mnist_examples_print_what_the_readme_quotes(tmp_path: Path) -> None:
    root = tmp_path / "data"
    env = {"TWINMLP_DATA": str(root)}
    for args, quoted in examples():
        if "fashion-mnist" not in args and args[:2] != ["data", "list"]:
            continue
        quoted = [q.replace("~/.cache/twinmlp/datasets", str(root)) for q in quoted]
        if args[:2] == ["data", "list"]:  # mnist is not imported here
            quoted = [q for q in quoted if not q.startswith("mnist ")]
        assert_quoted_lines_printed(args, quoted, run(args, tmp_path, env), loose=True)
