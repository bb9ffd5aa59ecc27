"""Hostile submissions aimed at the exercises' own checks: each forgery is refused full marks, by the check
that says what it saw, in both sandboxes; and judging stays near-linear in what a program prints."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from grader.catalog import resolve
from grader.checks import Run
from grader.exercises import ex3_pool
from grader.grading import grade
from grader.sandbox.base import RunOutcome
from grader.sandbox.none import NoneSandbox
from grader.settings import Settings
from grader.tree import Line, Proc, Tree

from ..conftest import GradeFile, failing

# a folder of their own: test_attacks.py expects programs/*.py to be exactly its own ATTACKS
PROGRAMS = Path(__file__).parent / "programs" / "exercises"


def _nslookup_symlink_verdict(report) -> None:  # type: ignore[no-untyped-def]
    why = (report.status, report.reason, failing(report), [c.message for c in report.checks if not c.passed])
    assert report.status == "failed" and not report.full_marks, why
    assert {"two_nslookups", "first_lookup"} <= set(failing(report)), why
    message = next(c.message for c in report.checks if c.id == "two_nslookups")
    assert "not the system's nslookup (/usr/bin/nslookup)" in message and "/nslookup'" in message, message
    assert report.tree is not None  # the impostor is in the tree, as the program it really was
    assert any(
        e.ok and e.path.endswith("/nslookup") and e.path.startswith("/tmp/")
        for p in report.tree.procs.values()
        for e in p.execs
    )


@pytest.mark.docker
@pytest.mark.attack
def test_nslookup_symlink_is_not_nslookup_in_docker(grade_file: GradeFile) -> None:
    _nslookup_symlink_verdict(grade_file("ex4", PROGRAMS / "nslookup_symlink.py"))


@pytest.mark.docker
@pytest.mark.attack
def test_nslookup_symlink_is_not_nslookup_without_a_container(settings: Settings) -> None:
    """--sandbox none: the host's PATH finds Debian's /usr/bin/nslookup; a symlink in /tmp is still not it."""
    path = PROGRAMS / "nslookup_symlink.py"
    report = grade(resolve("ex4"), path.read_bytes(), sandbox=NoneSandbox(settings), settings=settings, name=path.name)
    _nslookup_symlink_verdict(report)


def _flood_run(n: int) -> Run:
    """A synthetic ex3 run: one worker printing `Run task 0` and `Task 0 runs` n times each."""
    main, worker = Proc(pid=10, start=0.0, end=9.0, exit_code=0), Proc(pid=11, parent=10, start=0.1, end=8.0)
    lines = [Line(pid=11, t=1.0 + i * 1e-5, stream="stdout", text="Run task 0 (11)...") for i in range(n)]
    lines += [Line(pid=11, t=2.0 + i * 1e-5, stream="stdout", text="Task 0 runs 0.01 seconds.") for i in range(n)]
    tree = Tree(root=10, procs={10: main, 11: worker}, lines=sorted(lines, key=lambda ln: ln.t))
    return Run(tree, RunOutcome())


def test_ex3_judging_is_near_linear_in_printed_lines() -> None:
    """20,000 + 20,000 matching lines took 120 s of grader CPU with the nested scan; a generous bound here."""
    run = _flood_run(20_000)
    t0 = time.process_time()
    for check in ex3_pool.EXERCISE.checks:
        check.judge(run)
    assert time.process_time() - t0 < 20, "ex3's checks are not near-linear in the lines a program prints"
    spans = ex3_pool.intervals(run)
    assert len(spans) == 20_000 and all(end == 2.0 for _, end, _, _ in spans)  # each ends at the first end after it
