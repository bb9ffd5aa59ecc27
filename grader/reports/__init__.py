"""Report formats, one module per format; `file_formats()` maps a format's name to its renderer."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from grader.report import Report


def check_scores(report: Report) -> list[float]:
    """Per-check scores that add up to the report's score: an error scores nothing, and a timeout's cap
    comes off the last passing checks."""
    if report.status == "error":
        return [0.0 for _ in report.checks]
    scores = [c.score for c in report.checks]
    excess = sum(scores) - report.score
    for i in reversed(range(len(scores))):
        if excess <= 1e-9:
            break
        cut = min(scores[i], excess)
        scores[i] -= cut
        excess -= cut
    return [round(s, 2) for s in scores]


def file_formats() -> dict[str, Callable[[Sequence[Report]], str]]:
    """Formats rendered from the reports alone, by name (imported lazily: each pulls its own modules)."""
    from grader.reports import gradescope, junit, tap

    return {"junit": junit.render, "gradescope": gradescope.render, "tap": tap.render}
