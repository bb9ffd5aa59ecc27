"""`grade ci`: grade every exercise of a course checkout in parallel, and the exit-code policy."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from grader.catalog import Exercise, registry, resolve
from grader.errors import GraderError, SubmissionError
from grader.grading import grade, load_submission, rejected
from grader.report import Report
from grader.sandbox.base import Sandbox
from grader.settings import Settings

SOLUTION = "solution.py"


def selected(names: Iterable[str]) -> list[Exercise]:
    """The exercises named (ex3, 3, pool), in course order; all of them when none is named."""
    chosen = {resolve(n).id for n in names}
    return [ex for ex in registry().values() if not chosen or ex.id in chosen]


def grade_one(exercise: Exercise, root: Path, *, sandbox: Sandbox, settings: Settings) -> Report:
    rel = f"{exercise.folder}/{SOLUTION}"
    try:
        source = load_submission(root / rel)
    except SubmissionError as err:
        return rejected(exercise, name=rel, problem=str(err).split(" — ")[0] + f" — commit your solution as {rel}")
    try:
        report = grade(exercise, source, sandbox=sandbox, settings=settings, name=SOLUTION)
    except SubmissionError as err:  # e.g. too large: still the student's fault, still a result
        return rejected(exercise, name=rel, problem=str(err))
    report.submission = rel  # relative, so annotations point at the file in the repository
    return report


def grade_course(
    root: Path,
    exercises: Sequence[Exercise],
    *,
    sandbox: Sandbox,
    settings: Settings,
    jobs: int | None = None,
    done: Callable[[Report], None] | None = None,
) -> list[Report]:
    """One report per exercise, in course order. Grader faults (GraderError) propagate; student faults do not."""
    if not exercises:
        raise GraderError("no exercises to grade — check --exercise")
    workers = max(1, jobs or min(4, os.cpu_count() or 1))

    def work(ex: Exercise) -> Report:
        report = grade_one(ex, root, sandbox=sandbox, settings=settings)
        if done is not None:
            done(report)
        return report

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="grade-ci") as pool:
        return list(pool.map(work, exercises))


def total(reports: Sequence[Report]) -> tuple[float, float]:
    return round(sum(r.score for r in reports), 2), round(sum(r.max_score for r in reports), 2)


def exit_code(reports: Sequence[Report], min_score: float | None = None) -> int:
    """0 when the total reaches `min_score` (default: full marks on every exercise), else 1."""
    score, maximum = total(reports)
    if min_score is None:
        return 0 if all(r.status == "passed" for r in reports) else 1
    return 0 if score >= min_score - 1e-9 else 1
