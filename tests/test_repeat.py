"""No flakiness: every reference scores full marks 20 times in a row (scheduling and random sleeps never decide)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import ROOT, GradeFile, failing

REFERENCES = sorted(ROOT.glob("solutions/ex*.py"))
RUNS = 20


@pytest.mark.slow
@pytest.mark.docker
@pytest.mark.parametrize("run", range(RUNS))
@pytest.mark.parametrize("path", REFERENCES, ids=lambda p: p.stem)
def test_reference_is_stable(grade_file: GradeFile, path: Path, run: int) -> None:
    report = grade_file(path.stem, path)
    assert report.status == "passed", (run, failing(report), report.reason)
