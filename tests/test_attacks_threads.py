"""Hostile thread programs (tests/attacks/programs/threads/) graded as the thread exercises: each ends with its
verdict within its limit, never full marks, and leaves no container behind. Thread names are labels the
program chooses: renaming threads (in Python and with prctl) impersonates no one."""

from __future__ import annotations

import re
import resource
import time
from dataclasses import dataclass

import pytest

from grader.report import Report

from .attacks.test_attacks import LIMIT, SLACK, leftovers
from .conftest import GradeFile, failing

pytestmark = [pytest.mark.docker, pytest.mark.attack]
PROGRAMS = __import__("pathlib").Path(__file__).parent / "attacks" / "programs" / "threads"


@dataclass(frozen=True)
class Attack:
    exercise: str
    status: tuple[str, ...]
    reason: str | None  # a regex the reason must match; None: no reason (the checks decide)
    failed: tuple[str, ...] = ()  # checks that must fail


ATTACKS: dict[str, Attack] = {
    # the pids limit counts threads: the bomb is refused, then the run is stopped as too many processes
    "thread_bomb_forever": Attack("ex6", ("error",), r"^too many processes: ", ()),
    # main said it ended, the interpreter waits for the non-daemon thread at exit: the limit names it
    "thread_never_ends": Attack(
        "ex6", ("timeout",), r"^time limit .*\(thread of \d+\) sleeping \(time\.sleep\)", ("joined", "nothing_left")
    ),
    "thread_forks": Attack("ex6", ("failed",), None, ("loop_lines", "loop_ended")),
    "thread_impersonates_main": Attack("ex6", ("failed",), None, ("main_running", "loop_lines", "joined")),
    "thread_churn": Attack("ex7", ("timeout", "error"), None, ("balance",)),
}


def test_every_program_has_its_attack() -> None:
    assert {p.stem for p in PROGRAMS.glob("*.py")} == set(ATTACKS)


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_thread_attack_is_contained(grade_file: GradeFile, sandbox, name: str) -> None:  # type: ignore[no-untyped-def]
    attack = ATTACKS[name]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.monotonic()
    report: Report = grade_file(attack.exercise, PROGRAMS / f"{name}.py", timeout_s=LIMIT)
    elapsed = time.monotonic() - t0
    why = (report.status, report.reason, failing(report), report.output[:300], report.stderr[-300:])
    assert report.status in attack.status, why
    if attack.reason is not None:
        assert report.reason and re.search(attack.reason, report.reason), why
    assert set(attack.failed) <= set(failing(report)), why
    assert not report.full_marks and report.score < report.max_score, why
    assert elapsed < LIMIT + SLACK, f"{name} took {elapsed:.1f}s"
    assert leftovers(sandbox.last_container) == "", "the container was left behind"
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss < 200_000, "grader memory grew by > 200 MB"


def test_a_thread_renamed_main_thread_is_still_a_thread(grade_file: GradeFile) -> None:
    """The impersonator's prctl names reach the trace as labels, and the messages say who really wrote."""
    report = grade_file("ex6", PROGRAMS / "thread_impersonates_main.py", timeout_s=LIMIT)
    assert report.tree is not None
    assert {t.name for t in report.tree.threads.values()} == {"MainThread"}
    running = next(c.message for c in report.checks if c.id == "main_running")
    assert re.search(r"printed by thread \d+ \(named 'MainThread' by the program\)", running), running
