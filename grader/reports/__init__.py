"""Report formats, one module per format; `file_formats()` maps a format's name to its renderer."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from grader.report import Report


def file_formats() -> dict[str, Callable[[Sequence[Report]], str]]:
    """Formats rendered from the reports alone, by name (imported lazily: each pulls its own modules)."""
    from grader.reports import gradescope, junit, tap

    return {"junit": junit.render, "gradescope": gradescope.render, "tap": tap.render}
