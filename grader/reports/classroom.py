"""GitHub Classroom: the base64 `result` output that classroom-resources/autograding-grading-reporter decodes."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grader.report import Report
from grader.reports import check_scores

VERSION = 1


def payload(reports: Sequence[Report]) -> dict[str, Any]:
    tests = []
    for r in reports:
        for c, score in zip(r.checks, check_scores(r), strict=True):
            test: dict[str, Any] = {
                "name": f"{r.exercise}: {c.title}",
                "status": "pass" if c.passed and score >= c.max_score else ("error" if r.status == "error" else "fail"),
                "score": score,
                "message": c.message if r.status in ("passed", "failed") else f"{r.status}: {r.reason} — {c.message}",
                "test_code": f"grade submit {r.exercise}",
                "filename": r.submission or f"exercises/{r.exercise}/solution.py",
                "line_no": 0,
                "execution_time": f"{r.duration_s:.2f}s",
            }
            tests.append(test)
    passed = all(r.status == "passed" for r in reports)
    errored = any(r.status == "error" for r in reports)
    return {
        "version": VERSION,
        "status": "pass" if passed else ("error" if errored else "fail"),
        "max_score": sum(r.max_score for r in reports),
        "tests": tests,
    }


def encode(reports: Sequence[Report]) -> str:
    return base64.b64encode(json.dumps(payload(reports), separators=(",", ":")).encode()).decode()


def write(reports: Sequence[Report], *, environ: dict[str, str] | None = None) -> str | None:
    """Append `result=<b64>` to $GITHUB_OUTPUT; returns the line instead when that variable is unset."""
    line = f"result={encode(reports)}"
    target = (environ if environ is not None else os.environ).get("GITHUB_OUTPUT")
    if not target:
        return line
    with Path(target).open("a", encoding="utf-8") as f:
        f.write(line + "\n")
    return None
