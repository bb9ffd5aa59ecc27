"""A run that fails only in a way the exercise's own race explains is run again (3 runs at most): the course
program's ex5 loses its race on a busy machine (the reader terminated before it started, or before it took the
last values), and one such run must not decide a student's verdict. Every other failure is judged on one run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from grader.catalog import resolve
from grader.grading import RACE_RUNS, again_on_race, grade, raced
from grader.reports.text import render
from grader.sandbox.base import RunOutcome, RunRequest
from grader.settings import Settings
from grader.verify import load_outcome

from .conftest import ROOT, SUBMISSIONS

EX5 = SUBMISSIONS / "ex5_queue"
LOST_START = EX5 / "fail__got_in_order__reader_never_started.py"
DAWDLER = EX5 / "fail__got_in_order__dawdling_reader.py"


def recording(program: Path) -> RunOutcome:
    return load_outcome(program.with_suffix(".outcome.json"))


class Replays:
    """A sandbox that hands back recorded outcomes in turn (the last one again when they run out)."""

    name = "docker"

    def __init__(self, *outcomes: RunOutcome) -> None:
        self.outcomes, self.runs = list(outcomes), 0

    def run(self, request: RunRequest) -> RunOutcome:
        self.runs += 1
        return self.outcomes[min(self.runs, len(self.outcomes)) - 1]


def graded(program: Path, box: Replays):  # type: ignore[no-untyped-def]
    return grade(resolve("ex5_queue"), program.read_bytes(), sandbox=box, settings=Settings())


def test_a_reader_terminated_before_it_started_is_a_race_on_the_checks_it_decides() -> None:
    box = Replays(recording(LOST_START))
    report = graded(LOST_START, box)
    assert report.status == "failed" and raced(report)
    assert {c.id for c in report.checks if c.race} == {"printed_pids", "got_in_order"}
    assert all(c.passed for c in report.checks if not c.race)  # the reader_terminated check judges it too
    assert box.runs == report.runs == RACE_RUNS


def test_a_race_then_a_clean_run_keeps_the_clean_run() -> None:
    box = Replays(recording(LOST_START), load_outcome(ROOT / "solutions" / "ex5_queue.fork.outcome.json"))
    report = graded(LOST_START, box)
    assert (report.status, report.runs, box.runs) == ("passed", 2, 2)


@pytest.mark.parametrize("program", [DAWDLER, *sorted(EX5.glob("fail__two_children__*.py"))], ids=lambda p: p.stem)
def test_a_failure_the_race_does_not_explain_runs_once(program: Path) -> None:
    box = Replays(recording(program))
    report = graded(program, box)
    assert report.status == "failed" and not any(c.race for c in report.checks)
    assert box.runs == report.runs == 1


def test_a_run_that_passes_runs_once() -> None:
    box = Replays(load_outcome(ROOT / "solutions" / "ex5_queue.fork.outcome.json"))
    assert (graded(ROOT / "solutions" / "ex5_queue.py", box).runs, box.runs) == (1, 1)


def test_again_on_race_stops_at_the_first_run_that_did_not_race() -> None:
    first = graded(LOST_START, Replays(recording(LOST_START)))
    clean = graded(DAWDLER, Replays(recording(DAWDLER)))
    calls: list[int] = []

    def once():  # type: ignore[no-untyped-def]
        calls.append(1)
        return clean

    assert again_on_race(first, once) is clean and clean.runs == 2 and len(calls) == 1


def test_the_text_report_says_how_many_times_the_program_ran() -> None:
    report = graded(LOST_START, Replays(recording(LOST_START)))
    console = Console(record=True, width=200, color_system=None)
    render(report, console=console)
    assert "the program ran 3 times" in console.export_text()


@pytest.mark.docker
def test_grade_submit_runs_a_lost_race_again_in_the_docker_sandbox() -> None:
    """The early-started run of `grade submit` is the first of the three."""
    done = subprocess.run(
        [sys.executable, "-m", "grader", "submit", "ex5", "-f", str(LOST_START), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    report = json.loads(done.stdout)
    assert (done.returncode, report["status"], report["runs"]) == (1, "failed", 3), done.stderr
    assert {c["id"] for c in report["checks"] if c["race"]} == {"printed_pids", "got_in_order"}
