"""`grade ci`: grade every exercise of a course checkout in parallel, and the exit-code policy."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from grader.catalog import Exercise, registry, resolve
from grader.errors import GraderError, SubmissionError
from grader.grading import grade_or_error, rejected
from grader.report import Report
from grader.sandbox.base import Sandbox
from grader.settings import Settings
from grader.submission import load_submission

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
    # the grader's own failures (a missing image, a lost engine, a check that raised) are this exercise's
    # `error`, with the grader at fault: the other exercises' reports are kept and the job exits 2
    report = grade_or_error(exercise, source, sandbox=sandbox, settings=settings, name=SOLUTION)
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
    """One report per exercise, in course order: a grader fault while grading one is that exercise's `error`
    (fault "grader"), so every other report is kept; only choosing no exercise at all raises."""
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


def grader_faults(reports: Sequence[Report]) -> list[Report]:
    """The reports the grader or its host could not judge: no score should be published from them."""
    return [r for r in reports if r.fault == "grader"]


def exit_code(reports: Sequence[Report], min_score: float | None = None) -> int:
    """2 when the grader failed on any exercise (its fault is never the student's 0); else 0 when the total
    reaches `min_score` (default: full marks on every exercise), else 1."""
    if grader_faults(reports):
        return 2
    score, maximum = total(reports)
    if min_score is None:
        return 0 if all(r.status == "passed" for r in reports) else 1
    return 0 if score >= min_score - 1e-9 else 1
