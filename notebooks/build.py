"""Rebuild the notebooks from their jupytext twins and execute them with saved outputs.

    python notebooks/build.py            # all five, full settings (minutes)
    python notebooks/build.py 02         # the notebooks whose names start with 02

Edit the ``.py`` (percent format), then run this: it writes the ``.ipynb`` beside it,
executed from a fresh kernel in the ``notebooks/`` folder. Needs the ``test`` extra.
"""

from __future__ import annotations

import sys
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent


def build(source: Path, timeout: int = 1200) -> Path:
    """Execute the notebook written in ``source`` and save it as ``.ipynb``."""
    notebook = jupytext.read(source)
    NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(HERE)}}).execute()
    target = source.with_suffix(".ipynb")
    nbformat.write(notebook, target)
    return target


if __name__ == "__main__":
    prefixes = sys.argv[1:] or [""]
    for path in sorted(HERE.glob("[0-9]*.py")):
        if any(path.name.startswith(p) for p in prefixes):
            print(f"{build(path)} ({path.with_suffix('.ipynb').stat().st_size // 1024} KiB)")
