"""``twinmlp show NAME``: the NumPy and the torch implementation of NAME side by side.

The sources are read from the files with :mod:`ast` and :mod:`tokenize`; nothing of the twins
is imported (no torch), so a call answers at once, and the package folders are found where
twinmlp is installed or checked out. A name of the fast path that has a plain counterpart
(``backward_pass``, ``forward_pass``, ``SGD.step``, ``softmax``, ``cross_entropy``, or the
plain name itself: ``backward``, ``plain.sgd_step``) shows the plain twins first
(``numpy_impl/plain.py``), then the fast path that training runs, then one line per
difference saying why the fast path is written that way (docs/benchmarks.md, "Why the fast
path is written as it is"). Names of ``shared/`` (``_coupled``, ``OptimizerBase._coupled``,
``MLP.fit``) are shown once, written for both twins.

A line too long for its column wraps only between tokens outside the brackets opened on
that line, or between the words of a comment or docstring; where two columns cannot hold a
version that way (or, as a last resort, after a comma inside them), the two versions are
stacked.
"""

from __future__ import annotations

import ast
import difflib
import functools
import html
import importlib.util
import io
import re
import shutil
import textwrap
import tokenize
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path

from twinmlp.shared.errors import TwinMLPError

TWINS = ("numpy_impl", "torch_impl")
#: Narrowest column of the two-column view; below it the two versions are stacked.
MIN_COLUMN = 60
#: Fast-path name → its plain counterpart in ``plain.py`` (module, qualified name).
PLAIN_OF = {("model", "MLP.forward_pass"): "forward",
            ("model", "MLP.backward_pass"): "backward",
            ("optim", "SGD.step"): "sgd_step",
            ("functional", "softmax"): "softmax",
            ("functional", "cross_entropy"): "cross_entropy"}
_BUFFERS = ('`out=buffer(...)`: writes into arrays made once per batch size, so a step '
            'allocates nothing ("Fast path: buffers")')
#: Why the fast path differs from the plain one, a line per difference (docs/benchmarks.md).
FAST_PATH_NOTES = {
    "forward": [
        _BUFFERS,
        '`y=`: the loss is summed inside the softmax pass, `softmax_cross_entropy` '
        '("Fast path: fused loss")',
        "`F.linear`: the bias added in place to the product (`addmm` in torch, one kernel) "
        '("Fast path: buffers")',
        "not for speed: `D` multiplies the dropout masks in (MATH.md §13); `Phi` keeps φ(Z) "
        "apart from A for the derivative"],
    "backward": [
        _BUFFERS,
        "`G_L` overwrites `P`, and integer labels subtract 1 at (i, y_i) instead of building "
        'Y ("Fast path: gradient at the logits")',
        '`db` before `dW`: G_l is still in the CPU cache ("Fast path: db")',
        '`np.add.reduce`: `.sum()` without its Python wrapper ("Fast path: ufunc.reduce")',
        "the derivative multiplies G in place, with one ATen kernel for leaky-ReLU in torch "
        '("Fast path: activations")',
        "not for speed: `D` (dropout, MATH.md §13), `n_total` (a data-parallel share, §14), "
        "`keep_G` (copies of G_l for `twinmlp parity --ops`)"],
    "sgd_step": [
        "updates the parameters in place; the L2 term `g + δW` (δ = λ/N) is formed by the "
        "shared `_coupled` in a work array made once (`twinmlp show _coupled`; \"Fast path: "
        'optimizer")',
        "not for speed: momentum and Nesterov (MATH.md §11)"],
    "softmax": [
        "`out=`: into the step's buffer, exp in place; training calls "
        '`softmax_cross_entropy` instead ("Fast path: fused loss")'],
    "cross_entropy": [
        "integer labels pick log P at (i, y_i) instead of multiplying by a one-hot Y "
        '("Fast path: gradient at the logits"); training sums the loss in the softmax pass '
        '("Fast path: fused loss")'],
}


@dataclass(frozen=True)
class Source:
    """One definition as read from its file: where it starts and its dedented lines."""

    where: str  # e.g. "numpy_impl/plain.py:49"
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Key:
    """A definition: ``scope`` "twin" (in both twins' folders) or "shared", its module
    (file stem) and qualified name (``softmax``, ``MLP.backward_pass``)."""

    scope: str
    module: str
    qualname: str

    @property
    def rank(self) -> int:
        """Which wins when a name matches several: the fast path, then plain, then shared."""
        return 2 if self.scope == "shared" else int(self.module == "plain")

    def __str__(self) -> str:
        return f"plain.{self.qualname}" if self.module == "plain" else self.qualname


def _package_dir(package: str) -> Path:
    """The folder of ``twinmlp.<package>``, found without importing it."""
    spec = importlib.util.find_spec(f"twinmlp.{package}")
    if spec is None or not spec.submodule_search_locations:
        raise TwinMLPError(f"cannot find the package twinmlp.{package} to read its sources")
    return Path(next(iter(spec.submodule_search_locations)))


@functools.cache
def _definitions(package: str) -> dict[tuple[str, str], Source]:
    """(module, qualified name) → source of every function, class and method (private ones
    included, dunders but ``__init__`` left out) in the package's modules."""
    found: dict[tuple[str, str], Source] = {}
    for path in sorted(_package_dir(package).glob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.split("\n")
        where = f"{path.parent.name}/{path.name}"
        for node in ast.parse(text).body:
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            found[(path.stem, node.name)] = _source(where, lines, node)
            if isinstance(node, ast.ClassDef):
                for member in node.body:
                    if (isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef))
                            and (not member.name.startswith("__") or member.name == "__init__")):
                        found[(path.stem, f"{node.name}.{member.name}")] = _source(
                            where, lines, member)
    return found


def _source(where: str, lines: list[str], node: ast.AST) -> Source:
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    text = textwrap.dedent("\n".join(lines[start - 1:node.end_lineno]))
    return Source(f"{where}:{start}", tuple(text.split("\n")))


@functools.cache
def _catalogue() -> dict[Key, tuple[Source | None, Source | None]]:
    """Every definition by key, as (numpy_impl's, torch_impl's); a shared one is the same
    source twice. ``MLP.<member>`` also names what both twins' ``MLP`` inherit from the
    shared ``TwinMLP``."""
    mine, theirs = _definitions(TWINS[0]), _definitions(TWINS[1])
    found: dict[Key, tuple[Source | None, Source | None]] = {
        Key("twin", module, qualname): (mine.get((module, qualname)),
                                        theirs.get((module, qualname)))
        for module, qualname in [*mine, *(key for key in theirs if key not in mine)]}
    for (module, qualname), source in _definitions("shared").items():
        found[Key("shared", module, qualname)] = (source, source)
        member = qualname.removeprefix("TwinMLP.")
        if module == "model" and member != qualname and ("model", f"MLP.{member}") not in mine:
            found[Key("shared", "model", f"MLP.{member}")] = (source, source)
    return found


def find(name: str) -> Key:
    """The definition ``name`` means: ``[numpy_impl.|torch_impl.|shared.][module.]qualname``,
    a method possibly without its class (``backward_pass``, ``_coupled``). Among several
    matches the fast path wins over ``plain`` and both over ``shared``."""
    parts = name.removeprefix("twinmlp.").split(".")
    scope = None
    if parts[0] in (*TWINS, "shared"):
        scope = "shared" if parts.pop(0) == "shared" else "twin"
    catalogue = _catalogue()
    module = None
    if len(parts) > 1 and parts[0] in {key.module for key in catalogue}:
        module = parts.pop(0)
    wanted = ".".join(parts)
    keys = [key for key in catalogue if scope in (None, key.scope) and module in (None, key.module)]
    for matches in ([key for key in keys if key.qualname == wanted],
                    [key for key in keys if key.qualname.endswith(f".{wanted}")]):
        if matches:
            best = min(key.rank for key in matches)
            matches = [key for key in matches if key.rank == best]
            if len(matches) == 1:
                return matches[0]
            raise TwinMLPError(f"{name!r} names several twin implementations: "
                               + ", ".join(dict.fromkeys(str(key) for key in matches)))
    names = {str(key) for key in catalogue} | {key.qualname.split(".")[-1] for key in catalogue}
    close = difflib.get_close_matches(wanted, sorted(names), n=5)
    hint = (f"did you mean {', '.join(close)}?" if close
            else "try e.g. softmax, MLP.forward, MLP.backward_pass, SGD.step")
    raise TwinMLPError(f"no twin implementation called {name!r}; {hint}")


def _plain_pair(key: Key) -> tuple[Key, Key, str] | None:
    """(plain key, fast key, plain name) when ``key`` is either half of a plain/fast pair."""
    for (module, qualname), plain in PLAIN_OF.items():
        fast = Key("twin", module, qualname)
        if key in (fast, Key("twin", "plain", plain)):
            return Key("twin", "plain", plain), fast, plain
    return None


def side_by_side(name: str, width: int | None = None) -> str:
    """Both implementations of ``name`` in two columns (stacked when the width is too small
    for two); ``≠`` marks the lines that differ. A plain/fast pair shows the plain twins
    first, then the fast path, then why the fast path differs."""
    total = width or shutil.get_terminal_size((160, 40)).columns
    key = find(name)
    pair = _plain_pair(key)
    if pair is None:
        return _render(*_catalogue()[key], total)
    plain, fast, plain_name = pair
    notes = [f"- {note}" for note in FAST_PATH_NOTES[plain_name]]
    return "\n".join([
        _render(*_catalogue()[plain], total), "",
        *_prose(f"The plain twins above ({plain}) are what a student reads first; the fast "
                f"path that training runs ({fast.qualname}) computes the same values:", total),
        "",
        _render(*_catalogue()[fast], total), "",
        *_prose('Why the fast path differs (docs/benchmarks.md, "Why the fast path is '
                'written as it is", the entry in quotes):', total),
        *(line for note in notes for line in _prose(note, total, indent="  "))])


def _prose(text: str, width: int, indent: str = "") -> list[str]:
    return textwrap.wrap(text, width, subsequent_indent=indent, break_on_hyphens=False)


def _render(mine: Source | None, theirs: Source | None, total: int) -> str:
    """One definition: written once, one twin only, two columns, or stacked."""
    if mine is None or theirs is None or mine is theirs:
        source = theirs if mine is None else mine
        label = ("written once, for both twins" if mine is theirs
                 else f"{TWINS[mine is None]} only")
        header = _prose(f"{source.where}: {label}", total)
        return "\n".join([*header, "─" * min(total, len(header[0])),
                          *_wrapped_rows(source, total, gutter=[""] * len(source.lines))])
    markers = [" " if a.strip() == b.strip() else "≠"
               for a, b in zip_longest(mine.lines, theirs.lines, fillvalue="")]
    column = (total - 3) // 2
    if column < MIN_COLUMN or not (_fits(mine, column) and _fits(theirs, column)):
        # stacked, with a two-character gutter for the marks
        blocks = ["\n".join([source.where, "─" * min(total, len(source.where)),
                             *_wrapped_rows(source, total - 2,
                                            [f"{mark} " for mark in markers[:len(source.lines)]])])
                  for source in (mine, theirs)]
        return "\n\n".join(blocks)
    out = [f"{mine.where:<{column}}   {theirs.where}", f"{'─' * column}   {'─' * column}"]
    left, right = _wrap(mine, column), _wrap(theirs, column)
    for a_parts, b_parts, marker in zip_longest(left, right, markers, fillvalue=[""]):
        for i, (pa, pb) in enumerate(zip_longest(a_parts, b_parts, fillvalue="")):
            out.append(f"{pa:<{column}} {marker if i == 0 else ' '} {pb}".rstrip())
    return "\n".join(out)


def _fits(source: Source, width: int) -> bool:
    """Whether every row of ``source`` wraps into ``width``."""
    return all(len(part) <= width for parts in _wrap(source, width) for part in parts)


def _wrapped_rows(source: Source, width: int, gutter: list[str]) -> list[str]:
    """The rows of ``source`` wrapped to ``width``, each part behind its row's gutter."""
    pad = " " * len(gutter[0]) if gutter else ""
    return [(mark if i == 0 else pad) + part
            for mark, parts in zip(gutter, _wrap(source, width), strict=True)
            for i, part in enumerate(parts)]


def _wrap(source: Source, width: int) -> list[list[str]]:
    """Each row of ``source`` as the parts it wraps into at ``width``."""
    points = _break_points(source.lines)
    return [_wrap_row(row, row_points, width) for row, row_points in zip(source.lines, points,
                                                                        strict=True)]


def _wrap_row(row: str, points: dict[int, tuple[str, bool]], width: int) -> list[str]:
    """``row`` cut at the last break point that fits, again and again; a continuation is
    indented four spaces past the row (and starts with ``# `` inside a comment). Only where
    no point outside the row's brackets fits, a point after a comma inside them is used;
    a row with no point that fits stays wider than ``width``."""
    indent = " " * (len(row) - len(row.lstrip()) + 4)
    parts, start, lead = [], 0, ""
    while len(lead) + len(row) - start > width:
        later = [col for col in points if col > start]
        if not later:
            break
        fitting = [col for col in later if len(lead) + len(row[start:col].rstrip()) <= width]
        strict = [col for col in fitting if points[col][1]]
        col = (strict or fitting or later)[-1 if strict or fitting else 0]
        parts.append((lead + row[start:col]).rstrip())
        start, lead = col, indent + points[col][0]
    return [*parts, lead + row[start:]]


def _break_points(lines: tuple[str, ...]) -> list[dict[int, tuple[str, bool]]]:
    """Per row, the columns where it may wrap, each with the prefix its continuation needs
    and whether it is outside brackets: between two tokens where no bracket opened on that
    row is still open (not right after ``def``, ``return``, ``=``, …), or between the words
    of a comment (prefix ``# ``) or of a triple-quoted string; and, as a last resort (not
    outside), after a comma one bracket deep."""
    points: list[dict[int, tuple[str, bool]]] = [{} for _ in lines]
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO("\n".join(lines) + "\n").readline))
    except (tokenize.TokenError, SyntaxError):
        return points  # not Python on its own: no wrapping
    depth, lowest, previous = 0, {}, None  # lowest: the least depth seen on each row
    for token in tokens:
        (row, col), (end_row, end_col) = token.start, token.end
        lowest[row] = min(lowest.get(row, depth), depth)
        if (previous is not None and previous.end[0] == row and previous.end[1] < col
                and token.type not in (tokenize.NEWLINE, tokenize.NL)):
            if (depth == lowest[row] and token.string != "="
                    and previous.string not in ("def", "class", "return", "=", "@")):
                points[row - 1][col] = ("", True)
            elif depth == lowest[row] + 1 and previous.string == ",":
                points[row - 1][col] = ("", False)
        if token.type == tokenize.OP and token.string in "([{":
            depth += 1
        elif token.type == tokenize.OP and token.string in ")]}":
            depth -= 1
            lowest[row] = min(lowest[row], depth)
        elif token.type == tokenize.COMMENT or (token.type == tokenize.STRING
                                               and token.string[-3:] in ('"""', "'''")):
            prefix = "# " if token.type == tokenize.COMMENT else ""
            for r in range(row, end_row + 1):
                text = lines[r - 1]
                low, high = (col if r == row else 0), (end_col if r == end_row else len(text))
                for match in re.finditer(r" +(?=\S)", text[low:high]):
                    if low + match.start() > len(text) - len(text.lstrip()):
                        points[r - 1][low + match.end()] = (prefix, True)
        previous = token
    return points


@dataclass(frozen=True)
class NotebookView:
    """What a notebook displays for ``show``: the two twins in two HTML columns, one row
    per source line so that long lines wrap inside their own column and the columns never
    interleave, ``≠`` beside each line that differs (also visible where a renderer strips
    styles); as plain text, where no HTML is rendered, the two versions stacked."""

    html: str
    text: str

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.text


def notebook_view(name: str) -> NotebookView:
    """:func:`side_by_side` for a notebook: HTML columns, stacked text as the fallback."""
    key = find(name)
    pair = _plain_pair(key)
    text = side_by_side(name, 80)  # two 80-column versions are stacked
    if pair is None:
        return NotebookView(_html_table(*_catalogue()[key]), text)
    plain, fast, plain_name = pair
    notes = "".join(f"<li>{_inline_code(note)}</li>" for note in FAST_PATH_NOTES[plain_name])
    html = "".join([
        _html_table(*_catalogue()[plain]),
        f"<p>The plain twins above (<code>{plain}</code>) are what a student reads first; "
        f"the fast path that training runs (<code>{fast.qualname}</code>) computes the same "
        f"values:</p>",
        _html_table(*_catalogue()[fast]),
        "<p>Why the fast path differs (docs/benchmarks.md, “Why the fast path is written as "
        f"it is”, the entry in quotes):</p><ul>{notes}</ul>"])
    return NotebookView(html, text)


_CELL = "vertical-align:top;padding:0 6px;text-align:left"
_CODE = ("white-space:pre-wrap;margin:0;font-size:12px;line-height:1.35;"
         "font-family:var(--jp-code-font-family, monospace)")


def _html_table(mine: Source | None, theirs: Source | None) -> str:
    """One definition as an HTML table: a row per line, the twins in two columns."""
    if mine is None or theirs is None or mine is theirs:
        source = theirs if mine is None else mine
        rows = "".join(f'<tr><td style="{_CELL}"><pre style="{_CODE}">{_html_escape(line)}'
                       "</pre></td></tr>" for line in source.lines)
        return (f'<table style="width:100%;table-layout:fixed"><tr><th style="{_CELL}">'
                f"{source.where}</th></tr>{rows}</table>")
    rows = []
    for a, b in zip_longest(mine.lines, theirs.lines, fillvalue=""):
        differs = a.strip() != b.strip()
        shade = ";background:#fff4c2" if differs else ""
        rows.append(f'<tr><td style="{_CELL}{shade}"><pre style="{_CODE}">{_html_escape(a)}'
                    f'</pre></td><td style="{_CELL};width:1.5em">{"≠" if differs else ""}'
                    f'</td><td style="{_CELL}{shade}"><pre style="{_CODE}">'
                    f"{_html_escape(b)}</pre></td></tr>")
    return (f'<table style="width:100%;table-layout:fixed"><colgroup><col style="width:49%">'
            f'<col style="width:2%"><col style="width:49%"></colgroup>'
            f'<tr><th style="{_CELL}">{mine.where}</th><th></th>'
            f'<th style="{_CELL}">{theirs.where}</th></tr>{"".join(rows)}</table>')


def _inline_code(text: str) -> str:
    """A note's ``code`` spans (Markdown backticks) as HTML ``<code>``."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def _html_escape(text: str) -> str:
    return html.escape(text) or " "
