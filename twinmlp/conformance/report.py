"""The report of one check: the table, the detail of the first failure, the diagnosis.

Everything here is JSON-ready (``--json`` writes :meth:`Report.to_dict`); :func:`render`
turns it into the text the command prints, :func:`one_line` into a batch's line.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

#: Exit codes: agrees, differs, could not be checked.
AGREES, DIFFERS, UNCHECKABLE = 0, 1, 2


@dataclass
class Row:
    """One quantity compared: its worst relative error against its tolerance."""

    quantity: str
    dtype: str
    error: float | None
    tolerance: float | None
    verdict: str  # "ok", "FAIL", "NaN", "skipped"
    detail: str = ""

    @property
    def failed(self) -> bool:
        """Whether this row makes the check fail."""
        return self.verdict in ("FAIL", "NaN")


@dataclass
class Diagnosis:
    """The likely cause of the first failure: a mistake, a convention, or no match."""

    kind: str  # "mistake", "convention", "unknown"
    name: str  # the signature's short name, e.g. "sum-instead-of-mean"
    cause: str  # one sentence
    evidence: str

    def line(self) -> str:
        """``likely cause: …`` / ``convention: …`` / ``no known signature: …``."""
        label = {"mistake": "likely cause", "convention": "convention"}.get(
            self.kind, "no known signature matches")
        text = ": ".join(part for part in (label, self.cause) if part)
        return f"{text} ({self.evidence})" if self.evidence else text


@dataclass
class Report:
    """Everything one check found."""

    target: str
    status: str = "pass"  # "pass", "fail", "error"
    notes: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    diagnosis: Diagnosis | None = None
    error: str = ""
    user_traceback: str = ""
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        """0 agrees, 1 differs, 2 could not be checked."""
        return {"pass": AGREES, "fail": DIFFERS}.get(self.status, UNCHECKABLE)

    def first_failure(self) -> Row | None:
        """The first row that fails."""
        return next((row for row in self.rows if row.failed), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (no NaN: non-finite errors become strings)."""
        d = asdict(self)
        for row in d["rows"]:
            if row["error"] is not None and not math.isfinite(row["error"]):
                row["error"] = str(row["error"])
        d["exit_code"] = self.exit_code
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Report:
        """Inverse of :meth:`to_dict`."""
        rows = [Row(**{**r, "error": float(r["error"]) if r["error"] is not None else None})
                for r in d["rows"]]
        diagnosis = Diagnosis(**d["diagnosis"]) if d.get("diagnosis") else None
        return cls(d["target"], d["status"], d["notes"], rows, diagnosis, d["error"],
                   d["user_traceback"], d["seconds"])


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.1e}"


def render(report: Report) -> str:
    """The text ``twinmlp check`` prints for one target."""
    if report.status == "error" and not report.rows:
        lines = []  # one line (after the user's traceback, where their code raised)
    else:
        lines = [f"twinmlp check {report.target}"]
        lines += [f"  {note}" for note in report.notes]
    if report.rows:
        width = max(len(row.quantity) for row in report.rows) + 2
        lines.append(f"  {'quantity':<{width}}{'dtype':<9}{'max rel error':>14}"
                     f"{'tolerance':>11}  verdict")
        for row in report.rows:
            lines.append(f"  {row.quantity:<{width}}{row.dtype:<9}{_number(row.error):>14}"
                         f"{_number(row.tolerance):>11}  {row.verdict}")
    first = report.first_failure()
    if first is not None and first.detail:
        lines.append(f"first difference: {first.detail}")
    if report.diagnosis is not None:
        lines.append(report.diagnosis.line())
    if report.user_traceback:
        lines.append(report.user_traceback.rstrip())
    lines.append(one_line(report))
    return "\n".join(lines)


def one_line(report: Report) -> str:
    """One line: the verdict, the first failure and its diagnosis."""
    if report.status == "error":
        return f"{report.target}: ERROR (exit 2): {report.error}"
    compared = sum(1 for row in report.rows if row.verdict != "skipped")
    if report.status == "pass":
        return (f"{report.target}: PASS: {compared} quantities within tolerance "
                f"({report.seconds:.1f} s)")
    first = report.first_failure()
    assert first is not None
    cause = f"; {report.diagnosis.line()}" if report.diagnosis else ""
    return (f"{report.target}: FAIL (exit 1): first difference in {first.quantity} "
            f"({first.dtype}, {first.verdict} {_number(first.error)} > "
            f"{_number(first.tolerance)}){cause}")
