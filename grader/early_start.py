"""`grade submit` from a name and a file to a report, with the container started before the checks load.

A run needs three facts about its exercise: its id, whether it needs DNS and the limits it raises. They are
read raw from the exercise's exercise.toml, and the container starts; the packs are then loaded and checked
as always (pydantic, every checks.py, the judge and the renderer), while the program runs. The run is judged
only if the loaded exercise agrees on all three facts; otherwise it is discarded and the file graded again
the ordinary way. The raw read decides nothing: a name it cannot place starts nothing early.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.catalog import course_root, raised, resolve
from grader.errors import SubmissionError
from grader.submission import load_submission, precheck

if TYPE_CHECKING:
    from grader.background import BackgroundRun
    from grader.catalog import Exercise
    from grader.report import Report
    from grader.settings import Settings


@dataclass(frozen=True)
class RunNeeds:
    """What a run of an exercise needs before its checks are loaded."""

    id: str
    needs_dns: bool = False
    limits: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, ex: Exercise) -> RunNeeds:
        return cls(ex.id, ex.needs_dns, dict(ex.limits))


def peek(name: str, extra: tuple[Path, ...]) -> RunNeeds | None:
    """The needs of the one exercise `name` names, read raw from the packs' exercise.toml files; None when the
    raw read cannot tell (an unknown or ambiguous name, a pack it cannot read): the caller then waits for
    the packs to load."""
    try:
        return _only(name, _raw_specs(extra))
    except Exception:  # noqa: BLE001 — a best guess only: loading the packs reports what is wrong, in its words
        return None


def _raw_specs(extra: tuple[Path, ...]) -> list[tuple[str, dict[str, Any]]]:
    from grader.packs import SPEC, exercise_dirs

    found = []
    for folder in exercise_dirs(extra):
        for spec in sorted(folder.glob(f"*/{SPEC}")):
            found.append((spec.parent.name, tomllib.loads(spec.read_text(encoding="utf-8"))))
    return found


def _only(name: str, specs: list[tuple[str, dict[str, Any]]]) -> RunNeeds | None:
    """resolve()'s rule on raw specs: id, exN, N or name; an exact id wins over other matches."""
    key = name.strip().lower().removesuffix(".py")
    hits = [
        (i, raw) for i, raw in specs if key in {i, f"ex{raw.get('number')}", str(raw.get("number")), raw.get("name")}
    ]
    hits = [(i, raw) for i, raw in hits if i == key] or hits
    if len(hits) != 1:
        return None
    ex_id, raw = hits[0]
    return RunNeeds(ex_id, raw.get("needs_dns", False) is True, dict(raw.get("limits", {})))


def solution_file(ex_id: str) -> Path:
    """The student's own copy in the course checkout around the working folder."""
    root = course_root()
    if root is None:
        raise SubmissionError(
            "not in a course checkout (no exercises/ folder here or above) — cd into it, or pass --file"
        )
    return root / "exercises" / ex_id / "solution.py"


@dataclass
class Started:
    """A run under way, and what it was started from: judged once its exercise has loaded and agrees."""

    needs: RunNeeds
    source: bytes
    file: Path
    run_settings: Settings
    sandbox: Any
    run: BackgroundRun


def start(needs: RunNeeds, source: bytes, file: Path, settings: Settings, sandbox: Any) -> Started:
    from grader.background import BackgroundRun
    from grader.sandbox.base import RunRequest

    run_settings = raised(settings, needs.limits)
    run = BackgroundRun(sandbox, RunRequest(source=source, settings=run_settings, dns=needs.needs_dns))
    return Started(needs, source, file, run_settings, sandbox, run)


def graded_file(
    name: str,
    file: Path | None,
    settings: Settings,
    make_sandbox: Callable[[Settings], Any],
    extra: tuple[Path, ...],
    *,
    preload: tuple[str, ...] = (),
) -> tuple[Report, Path]:
    """The report on `file` (default: the checkout's copy) as exercise `name`, and the file graded; the modules
    named in `preload` (the caller's renderer) are imported while the program runs."""
    from grader.early_args import adopt

    started = adopt(name, file, settings, extra)  # the run grader/entry.py started, if it is exactly this one
    if started is not None:
        return _judged(name, started, settings, make_sandbox, preload), started.file
    needs = peek(name, extra) or RunNeeds.of(resolve(name))
    file = file or solution_file(needs.id)
    source = load_submission(file)
    problem = precheck(source, file.name, max_bytes=settings.source_bytes)  # before any container
    if problem is not None:
        from grader.grading import rejected

        return rejected(resolve(name), problem, name=file.name, source=source), file
    from grader.background import overlappable

    sandbox = make_sandbox(settings)
    if not overlappable(sandbox):
        from grader.grading import grade

        return grade(resolve(name), source, sandbox=sandbox, settings=settings, name=file.name), file
    started = start(needs, source, file, settings, sandbox)
    return _judged(name, started, settings, make_sandbox, preload), file


def _judged(
    name: str, started: Started, settings: Settings, make_sandbox: Callable[[Settings], Any], preload: tuple[str, ...]
) -> Report:
    """The started run judged as exercise `name`, the packs, the judge and `preload` loaded while it runs."""
    import importlib

    try:
        ex = resolve(name)
        from grader.grading import grade, judged

        for module in preload:
            importlib.import_module(module)
    except BaseException:
        started.run.cancel()
        raise
    file_name = started.file.name
    if RunNeeds.of(ex) != started.needs:  # the raw read was wrong: that run was made for another exercise's needs
        started.run.cancel()  # which stops its sandbox for good: the file is graded again in a new one
        return grade(ex, started.source, sandbox=make_sandbox(settings), settings=settings, name=file_name)
    outcome = started.run.outcome()
    report = judged(ex, started.source, outcome, started.run_settings, sandbox=started.sandbox.name, name=file_name)
    return _again_if_raced(ex, report, started, lambda: make_sandbox(settings))


def _again_if_raced(ex: Exercise, report: Report, started: Started, new_sandbox: Callable[[], Any]) -> Report:
    """The early run's report or, when it raced, the verdict of more runs in a new sandbox (again_on_race)."""
    from grader.grading import again_on_race, one_run, raced

    if not raced(report):
        return report
    sandbox = new_sandbox()

    def once() -> Report:
        return one_run(ex, started.source, sandbox=sandbox, settings=started.run_settings, name=started.file.name)

    return again_on_race(report, once)
