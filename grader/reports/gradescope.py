"""Gradescope results.json: one test per check, the run's output as plain text, and no null fields."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from grader.catalog import registry
from grader.report import Report
from grader.reports.junit import clean

OUTPUT_CAP = 16 << 10
# How `grade ci` words a missing file: right in a repository, wrong for an upload.
COMMIT_HINT = " — commit your solution as "


def upload_hint(report: Report) -> str | None:
    """For an exercise with no file: the names an upload may use, instead of advice to commit a path."""
    ex = registry().get(report.exercise)
    if ex is None or not report.reason or COMMIT_HINT not in report.reason:
        return None
    names = f"ex{ex.number}.py, ex{ex.number:02d}.py or {ex.id}.py"
    return f"no file for {ex.id} in your upload — upload it as {names} (loose, or in one folder of a zip)"


def _tests(report: Report) -> list[dict[str, Any]]:
    tests = []
    judged = report.status in ("passed", "failed")
    hint = upload_hint(report)
    for n, c in enumerate(report.checks, 1):  # the checks' scores add up to the report's (Report refuses any other)
        message = hint or (c.message if judged else f"{report.status}: {report.reason}\n{c.message}")
        tests.append(
            {
                "name": f"{report.exercise} — {c.title}",
                "number": f"{report.exercise.split('_')[0].removeprefix('ex')}.{n}",
                "score": c.score,
                "max_score": c.max_score,
                "status": "passed" if c.passed else "failed",
                "output": clean(message, 4096),
                "visibility": "visible",
            }
        )
    return tests


def _summary(report: Report) -> str:
    head = f"{report.exercise}: {report.status}, {report.score:g}/{report.max_score:g}"
    if reason := upload_hint(report) or report.reason:
        head += f" — {reason}"
    if report.output:
        head += "\n--- output ---\n" + clean(report.output, OUTPUT_CAP)
    return head


def payload(reports: Sequence[Report], *, notice: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "score": round(sum(r.score for r in reports), 2),
        "execution_time": round(sum(r.duration_s for r in reports), 3),
        "output": "\n\n".join([*([notice] if notice else []), *(_summary(r) for r in reports)]),
        # plain text everywhere: a printed `<Process name=…>` must show, not vanish as an HTML tag
        "output_format": "text",
        "test_output_format": "text",
        "test_name_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [t for r in reports for t in _tests(r)],
    }
    # Gradescope rejects some nulls outright: drop them rather than write them.
    return {k: v for k, v in result.items() if v is not None}


def render(reports: Sequence[Report], *, notice: str | None = None) -> str:
    return json.dumps(payload(reports, notice=notice), indent=2, ensure_ascii=False) + "\n"
