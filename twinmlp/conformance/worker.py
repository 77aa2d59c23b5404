"""The child process of one check: ``python -m twinmlp.conformance.worker IN OUT`` reads
the settings from ``IN`` and writes the report to ``OUT`` (both JSON)."""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

from twinmlp.conformance.engine import run_check
from twinmlp.conformance.report import Report
from twinmlp.conformance.settings import CheckSettings


def main(request: str, answer: str) -> None:
    """Run the check and write its report; a target that ends the process first leaves
    no report, which the parent reads as such."""
    settings = CheckSettings.from_dict(json.loads(Path(request).read_text()))
    try:
        report = run_check(settings)
    except Exception as error:  # a bug of the checker's own: say so, with its traceback
        report = Report(settings.target, status="error",
                        error=f"internal error of twinmlp check (please report it): "
                              f"{type(error).__name__}: {error}",
                        user_traceback=traceback.format_exc())
    Path(answer).write_text(json.dumps(report.to_dict()))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
