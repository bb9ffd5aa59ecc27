"""ex5 without terminate(): main waits forever for the reader; the run stops at the limit, not a hang,
and the report says the reader was still blocked on the queue."""

from __future__ import annotations

import pytest

from .conftest import SUBMISSIONS, GradeFile, failing

pytestmark = pytest.mark.docker

NEVER_TERMINATED = SUBMISSIONS / "ex5_queue" / "fail__reader_terminated__never_terminated.py"


def test_missing_terminate_is_a_timeout_that_names_the_blocked_reader(grade_file: GradeFile) -> None:
    report = grade_file("ex5_queue", NEVER_TERMINATED, timeout_s=3)
    assert report.status == "timeout", report.reason
    assert report.duration_s < 3 + 4, report.duration_s  # stopped at the limit, plus the kill's margin
    assert report.reason and "time limit of 3s" in report.reason, report.reason
    assert {"reader_terminated", "main_exit"} <= set(failing(report)), failing(report)
    message = next(c.message for c in report.checks if c.id == "reader_terminated")
    assert "still blocked on the queue" in message and "pr.terminate()" in message, message
    assert report.score < report.max_score
    # everything the reader was sent did arrive: only the missing terminate() is wrong
    assert "got_in_order" not in failing(report)
