"""``twinmlp show``: names of the twins, of plain.py and of shared/ resolve; a plain/fast
pair shows the plain twins first; a narrow terminal gets lines that fit, cut only between
tokens outside the brackets opened on a line (or between words of a comment or docstring);
the sources are read from the files, without importing the twins."""

from __future__ import annotations

import inspect
import io
import re
import subprocess
import sys
import textwrap
import tokenize

import pytest

from twinmlp import numpy_impl, torch_impl
from twinmlp.cli import main
from twinmlp.show import side_by_side

HEADER = re.compile(r"(numpy_impl|torch_impl|shared)/\w+\.py:\d+")


def _headers(text: str) -> list[str]:
    """The files of the versions shown, in order (stacked or in two columns)."""
    return re.findall(r"(?:numpy_impl|torch_impl|shared)/\w+\.py(?=:\d+)", text)


@pytest.mark.parametrize("name", ["_coupled", "OptimizerBase._coupled", "optim._coupled",
                                  "shared.optim.OptimizerBase._coupled"])
def test_shared_and_private_names_resolve(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", name, "--width", "120"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("shared/optim.py:") and "written once, for both twins" in lines[0]
    assert lines[2].startswith("def _coupled(self, name: str, param: Any, grad: Any)")


def test_a_method_both_twins_inherit_is_shown_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "MLP.backward"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("shared/model.py:") and "written once, for both twins" in lines[0]
    assert any(line.lstrip().startswith("def backward(") for line in lines)


@pytest.mark.parametrize("name", ["backward", "plain.backward", "numpy_impl.plain.backward",
                                  "backward_pass", "MLP.backward_pass"])
def test_the_plain_twins_come_first_then_the_fast_path(name: str) -> None:
    text = side_by_side(name, 80)
    assert _headers(text) == ["numpy_impl/plain.py", "torch_impl/plain.py",
                              "numpy_impl/model.py", "torch_impl/model.py"]
    assert text.index("def backward(") < text.index("def backward_pass(")
    notes = text[text.index("Why the fast path differs"):]
    assert "docs/benchmarks.md" in notes and '("Fast path: db")' in notes
    assert notes.count("\n- ") >= 4  # one line per difference


@pytest.mark.parametrize(("name", "fast_file", "fast"), [
    ("forward", "model", "forward_pass"), ("SGD.step", "optim", "step"),
    ("plain.sgd_step", "optim", "step"), ("softmax", "functional", "softmax"),
    ("cross_entropy", "functional", "cross_entropy")])
def test_every_pair_shows_plain_then_fast(name: str, fast_file: str, fast: str) -> None:
    text = side_by_side(name, 200)
    assert _headers(text) == ["numpy_impl/plain.py", "torch_impl/plain.py",
                              f"numpy_impl/{fast_file}.py", f"torch_impl/{fast_file}.py"]
    assert f"def {fast}(" in text[text.index(f"numpy_impl/{fast_file}.py"):]
    assert "Why the fast path differs" in text


def test_a_name_only_plain_has_is_shown_alone() -> None:
    text = side_by_side("one_hot", 200)
    assert _headers(text) == ["numpy_impl/plain.py", "torch_impl/plain.py"]
    assert "Why the fast path" not in text


def test_show_reads_files_and_imports_neither_twin() -> None:
    code = ("import sys; from twinmlp.show import side_by_side; "
            "side_by_side('backward_pass', 120); side_by_side('_coupled', 120); "
            "print(sorted(m for m in sys.modules if m == 'torch' or 'impl' in m))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


# --- a narrow terminal ---

def _source_rows(obj: object) -> list[str]:
    return textwrap.dedent(inspect.getsource(obj)).rstrip("\n").split("\n")


def _cuts(rows: list[str], shown: list[str]) -> list[tuple[int, int]]:
    """Where the display cut each source row, as (row, column), 1-based rows; asserts that
    the shown parts put together are the source rows."""
    cuts, parts = [], iter(shown)
    for number, row in enumerate(rows, 1):
        first = next(parts)
        assert row.rstrip().startswith(first.rstrip()), (row, first)
        position = len(first.rstrip())
        while row[position:].strip():
            part = next(parts).lstrip()
            column = len(row) - len(row[position:].lstrip())
            rest = row[column:]
            if not rest.startswith(part):  # a comment's continuation repeats its "# "
                assert part.startswith("# ") and rest.startswith(part[2:]), (row, part)
                part = part[2:]
            cuts.append((number, column))
            position = column + len(part)
    assert next(parts, None) is None
    return cuts


def _cut_is_outside_brackets(rows: list[str], row: int, column: int) -> bool:
    """Whether (row, column) lies between words of a comment or triple-quoted string, or
    between tokens where every bracket opened on that row is closed."""
    tokens = list(tokenize.generate_tokens(io.StringIO("\n".join(rows) + "\n").readline))
    depth, lowest = 0, None
    for token in tokens:
        if token.start <= (row, column) < token.end:  # inside a token
            return token.type == tokenize.COMMENT or (token.type == tokenize.STRING
                                                      and token.string.endswith('"""'))
        if token.start >= (row, column):
            return depth == lowest
        if token.start[0] == row and lowest is None:
            lowest = depth
        if token.type == tokenize.OP and token.string in "([{":
            depth += 1
        elif token.type == tokenize.OP and token.string in ")]}":
            depth -= 1
            lowest = depth if lowest is None else min(lowest, depth)
    return False


def test_backward_pass_at_80_columns_cuts_no_line_inside_brackets(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["show", "backward_pass"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    sources = [numpy_impl.plain.backward, torch_impl.plain.backward,
               numpy_impl.MLP.backward_pass, torch_impl.MLP.backward_pass]
    starts = [i for i, line in enumerate(lines) if HEADER.fullmatch(line)]
    assert len(starts) == len(sources)
    total_cuts = 0
    for start, obj in zip(starts, sources, strict=True):
        block = []
        for line in lines[start + 2:]:  # after the header and its rule
            if line == "":
                break
            block.append(line[2:])  # the two-character gutter of the marks
        rows = _source_rows(obj)
        cuts = _cuts(rows, block)
        total_cuts += len(cuts)
        for row, column in cuts:
            assert _cut_is_outside_brackets(rows, row, column), (rows[row - 1], column)
    assert total_cuts > 0  # the check has lines to judge at this width


def test_the_cut_check_catches_a_cut_inside_brackets() -> None:
    rows = ['x = f(a, b)  # a comment here', '"""A docstring (with brackets)."""']
    assert not _cut_is_outside_brackets(rows, 1, 9)   # between "a," and "b"
    assert _cut_is_outside_brackets(rows, 1, 13)      # before the comment
    assert _cut_is_outside_brackets(rows, 1, 15)      # between words of the comment
    assert _cut_is_outside_brackets(rows, 2, 14)      # between words of the docstring
    assert not _cut_is_outside_brackets(rows, 1, 4)   # right after "=" is fine, inside f( not


def test_the_notebook_view_puts_each_line_beside_its_twin_and_marks_the_differences() -> None:
    import html as html_module
    import re

    from twinmlp.show import _catalogue as catalogue
    from twinmlp.show import find, notebook_view

    view = notebook_view("backward_pass")
    tables = view.html.split("<table")[1:]
    assert len(tables) == 2  # the plain twins, then the fast path
    plain_numpy, plain_torch = catalogue()[find("plain.backward")]
    rows = re.findall(r"<tr>(.*?)</tr>", tables[0])[1:]  # without the header row
    assert len(rows) == max(len(plain_numpy.lines), len(plain_torch.lines))
    for row, a, b in zip(rows, plain_numpy.lines, plain_torch.lines, strict=False):
        left, mark, right = re.findall(r"<td[^>]*>(.*?)</td>", row)
        assert html_module.unescape(re.sub(r"</?pre[^>]*>", "", left)).strip() == a.strip()
        assert html_module.unescape(re.sub(r"</?pre[^>]*>", "", right)).strip() == b.strip()
        assert (mark == "≠") == (a.strip() != b.strip())
    assert "G.sum(axis=0)" in tables[0] and "G.sum(dim=0)" in tables[0]


def test_the_notebook_view_falls_back_to_the_stacked_text() -> None:
    from twinmlp.show import notebook_view

    text = repr(notebook_view("backward_pass"))
    assert max(map(len, text.splitlines())) <= 80
    assert text.index("numpy_impl/plain.py") < text.index("torch_impl/plain.py") < text.index(
        "numpy_impl/model.py")
