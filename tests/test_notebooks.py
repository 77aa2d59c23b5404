"""The study path: every notebook executes from a fresh kernel without error, with the
quick settings (``TWINMLP_NOTEBOOK_QUICK=1``) that keep all five within three minutes on
two cores, and each ``.ipynb`` holds the cells of its jupytext ``.py``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="the notebooks need the test extra")
jupytext = pytest.importorskip("jupytext", reason="the notebooks need the test extra")
nbclient = pytest.importorskip("nbclient", reason="the notebooks need the test extra")
pytest.importorskip("ipykernel", reason="the notebooks need the test extra")

FOLDER = Path(__file__).resolve().parents[1] / "notebooks"
DOCS = FOLDER.parent / "docs"
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


#: How a notebook marks a passage of the docs in its output (``quote_docs`` in notebook 04).
QUOTE = re.compile(r"^\*Quoted from `docs/([\w./-]+)` as it reads now:\*\n\n", re.M)


def quoted_passages(notebook: nbformat.NotebookNode) -> Iterator[tuple[str, str]]:
    """(docs file, passage) for every passage of the docs a notebook's outputs quote."""
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            text = output.get("data", {}).get("text/markdown") or output.get("text", "")
            for match in QUOTE.finditer(text):
                yield match.group(1), text[match.end():]


def stale_lines(name: str, passage: str, docs: Path = DOCS) -> list[str]:
    """The lines of ``passage`` that docs/``name`` no longer has (headings compared without
    their ``#`` marks, so a quote may change a heading's level)."""
    def normal(line: str) -> str:
        return line.strip().lstrip("#").strip()

    current = {normal(line) for line in (docs / name).read_text().splitlines()}
    return [line for line in passage.splitlines() if normal(line) and normal(line) not in current]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_what_a_saved_notebook_quotes_from_the_docs_is_what_they_say_now(path: Path) -> None:
    saved = nbformat.read(path, as_version=4)
    for name, passage in quoted_passages(saved):
        assert (DOCS / name).is_file(), f"{path.name} quotes docs/{name}, which is gone"
        stale = stale_lines(name, passage)
        assert not stale, (f"{path.name} quotes lines docs/{name} no longer has "
                           f"(rebuild: python notebooks/build.py {path.name[:2]}): {stale[:3]}")


def test_notebook_04_quotes_the_benchmarks_page_and_a_changed_line_is_caught(
        tmp_path: Path) -> None:
    saved = nbformat.read(FOLDER / "04_cpu_vs_gpu.ipynb", as_version=4)
    quotes = list(quoted_passages(saved))
    assert [name for name, _ in quotes].count("benchmarks.md") >= 1
    name, passage = quotes[0]
    page = (DOCS / name).read_text()
    assert stale_lines(name, passage) == []
    line = next(line for line in passage.splitlines() if line.startswith("| ") and len(line) > 20)
    (tmp_path / name).write_text(page.replace(line, line.replace(line[10:20], "0123456789")))
    assert stale_lines(name, passage, tmp_path) == [line]
