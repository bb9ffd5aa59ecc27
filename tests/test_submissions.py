"""Every exercise: the reference and must-pass files get full marks; each must-fail file fails on the check
its name gives (`fail__<check_id>__<what>.py`), with a message that names what was seen."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.catalog import registry

from .conftest import ROOT, SUBMISSIONS, GradeFile, examples, failing

CASES = examples()
REFERENCES = sorted(ROOT.glob("solutions/ex*.py"))

pytestmark = pytest.mark.docker


def test_every_exercise_has_a_reference_and_must_fail_cases() -> None:
    for ex in registry().values():
        assert (ROOT / "solutions" / f"{ex.id}.py").is_file(), ex.id
        assert (ROOT / ex.folder / "solution.py").is_file(), ex.id
        assert (ROOT / ex.folder / "README.md").is_file(), ex.id
        fails = list((SUBMISSIONS / ex.id).glob("fail__*.py"))
        assert len(fails) >= 3, f"{ex.id} needs must-fail submissions"
        for f in fails:
            check_id = f.name.split("__")[1]
            assert check_id in {c.id for c in ex.checks}, f"{f.name} names an unknown check"


@pytest.mark.parametrize("path", REFERENCES, ids=lambda p: p.stem)
def test_reference_gets_full_marks(grade_file: GradeFile, path: Path) -> None:
    report = grade_file(path.stem, path)
    assert report.status == "passed", (
        failing(report),
        report.reason,
        [c.message for c in report.checks if not c.passed],
    )
    assert report.score == report.max_score


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_submission_verdict(grade_file: GradeFile, path: Path) -> None:
    report = grade_file(path.parent.name, path)
    if path.name.startswith("pass__"):
        assert report.status == "passed", (
            failing(report),
            report.reason,
            [c.message for c in report.checks if not c.passed],
        )
        return
    check_id = path.name.split("__")[1]
    assert report.status != "passed" and report.score < report.max_score
    assert check_id in failing(report), f"expected {check_id} to fail; failed: {failing(report)} ({report.reason})"
    message = next(c.message for c in report.checks if c.id == check_id)
    assert message and not message.startswith("not run"), message


@pytest.mark.parametrize("ex", sorted(registry()), ids=str)
def test_untouched_stub_gets_an_ordinary_failing_report(grade_file: GradeFile, ex: str) -> None:
    report = grade_file(ex, ROOT / registry()[ex].folder / "solution.py")
    assert report.status == "failed", report.reason
    # a stub that runs as given, to show the bug the exercise fixes (ex7's racy deposits), earns what it does
    # right (threads started, joined), never the checks its exercise.toml names in stub_fails
    if stub_fails := registry()[ex].stub_fails:
        assert set(stub_fails) <= set(failing(report)) and report.score < report.max_score
        return
    # the stub creates no process: even its tidy exit and its given print lines earn nothing
    assert report.score == 0, [(c.id, c.score) for c in report.checks if c.score]
    tidy = [c for c in report.checks if "not credited yet" in c.message]
    assert tidy and all(not c.passed for c in tidy)


def test_tidiness_is_credited_once_the_program_forks(grade_file: GradeFile) -> None:
    """The same tidy checks pass for a wrong program that did create processes (two children, reaped)."""
    report = grade_file("ex1", SUBMISSIONS / "ex1_fork" / "fail__one_child__two_children.py")
    passed = {c.id for c in report.checks if c.passed}
    assert {"start_line", "nothing_left", "main_exit"} <= passed and 0 < report.score < report.max_score


def test_ex5_says_why_values_are_missing(grade_file: GradeFile) -> None:
    """Terminated before the writer ended: join first. Terminated after: the reader stopped taking values."""

    def message(name: str) -> str:
        report = grade_file("ex5", SUBMISSIONS / "ex5_queue" / name)
        return next(c.message for c in report.checks if c.id == "got_in_order")

    assert "pw.join() before pr.terminate()" in message("fail__got_in_order__terminated_too_early.py")
    stopped = message("fail__got_in_order__reader_stops_early.py")
    assert "had already finished" in stopped and "q.get() in a loop" in stopped and "pw.join()" not in stopped
