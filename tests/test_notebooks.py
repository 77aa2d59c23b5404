"""The study path: every notebook executes from a fresh kernel without error, with the
quick settings (``TWINMLP_NOTEBOOK_QUICK=1``) that keep all five within three minutes on
two cores, and each ``.ipynb`` holds the cells of its jupytext ``.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="the notebooks need the test extra")
jupytext = pytest.importorskip("jupytext", reason="the notebooks need the test extra")
nbclient = pytest.importorskip("nbclient", reason="the notebooks need the test extra")
pytest.importorskip("ipykernel", reason="the notebooks need the test extra")

FOLDER = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("[0-9][0-9]_*.ipynb"))
#: A saved notebook must stay readable on a code host.
MAX_BYTES = 1_000_000


def test_there_are_five_notebooks_each_with_its_jupytext_pair() -> None:
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05"]
    for path in NOTEBOOKS:
        assert path.with_suffix(".py").is_file(), f"{path.name} has no .py pair"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_saved_notebook_matches_its_py_and_has_its_outputs(path: Path) -> None:
    saved = nbformat.read(path, as_version=4)
    paired = jupytext.read(path.with_suffix(".py"))
    sources = [(c.cell_type, c.source) for c in saved.cells]
    assert sources == [(c.cell_type, c.source) for c in paired.cells], (
        f"{path.name} and its .py differ: run python notebooks/build.py {path.name[:2]}")
    code = [c for c in saved.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code), f"{path.name}: not executed in full"
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    assert path.stat().st_size < MAX_BYTES


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_from_a_fresh_kernel(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWINMLP_NOTEBOOK_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = jupytext.read(path.with_suffix(".py"))
    # ipykernel installs the "python3" kernelspec into the environment that runs pytest.
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(FOLDER)}})
    client.execute()  # raises CellExecutionError, naming the cell, on any error
