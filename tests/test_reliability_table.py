"""``docs/reliability.md`` lists what each bad input gets; this keeps it true."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

DOC = Path(__file__).resolve().parents[1] / "docs" / "reliability.md"


@pytest.mark.skipif(torch.cuda.is_available(), reason="the table is of a machine without GPU")
def test_the_documented_table_is_what_the_code_says(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "reliability_table", DOC.parents[1] / "scripts" / "reliability_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setenv("TWINMLP_DATA", "/nonexistent/twinmlp-data")
    documented = re.search(r"<!-- table:start -->\n(.*)\n<!-- table:end -->", DOC.read_text(),
                           re.S).group(1)
    assert module.table().strip() == documented.strip()
