"""`grade verify`: prove an exercise's checks against its own examples before a student ever runs them.

The reference gets full marks under every multiprocessing start method, the untouched stub scores 0 (or fails
the checks its exercise names in stub_fails), every `fail__<check>__*.py` fails on that check and every
`pass__*.py` passes. Each run's sandbox outcome can be
recorded next to its file (`--record`) and re-judged later without any container (`--replay`), through a
sandbox that hands back the recording: the checks are judged exactly as in a real run.
"""

from __future__ import annotations

import base64
import json
import os
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from grader.catalog import Exercise
from grader.grading import grade_or_error
from grader.report import Report
from grader.sandbox.base import RunRequest, Sandbox
from grader.sandbox.outcome import RunOutcome
from grader.settings import Settings

START_METHODS = ("fork", "spawn", "forkserver")
Kind = Literal["reference", "stub", "pass", "fail"]
Mode = Literal["run", "record", "replay"]
RECORDING = ".outcome.json"


@dataclass(frozen=True)
class Case:
    """One program to run for an exercise, and what its report must show."""

    kind: Kind
    path: Path
    start_method: str | None = None
    check: str | None = None  # the check a fail__ example must fail
    stub_fails: tuple[str, ...] = ()  # the checks a stub that runs as given must fail, instead of scoring 0

    @property
    def label(self) -> str:
        what = {"reference": "reference ", "stub": "stub "}.get(self.kind, "")
        return what + self.path.name + (f" ({self.start_method})" if self.start_method else "")

    @property
    def recording(self) -> Path:
        method = f".{self.start_method}" if self.start_method else ""
        return self.path.with_name(self.path.stem + method + RECORDING)


@dataclass
class Proof:
    """What `grade verify` found for one exercise: counts of cases that held, and one line per problem."""

    exercise: Exercise
    held: dict[Kind, int] = field(default_factory=lambda: {"reference": 0, "stub": 0, "pass": 0, "fail": 0})
    total: dict[Kind, int] = field(default_factory=lambda: {"reference": 0, "stub": 0, "pass": 0, "fail": 0})
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def cases(exercise: Exercise, solutions: Path | None) -> tuple[list[Case], list[str]]:
    """Every case of an exercise, and the problems found before running any (a missing reference, a fail__
    example naming no check of the exercise)."""
    home = exercise.home
    assert home is not None
    found: list[Case] = []
    problems: list[str] = []
    reference = solutions / f"{exercise.id}.py" if solutions is not None else None
    if reference is None or not reference.is_file():
        problems.append(f"no reference: solutions/{exercise.id}.py is missing beside the pack's exercises/")
    else:
        found += [Case("reference", reference, start_method=m) for m in START_METHODS]
    if (home / "solution.py").is_file():
        found.append(Case("stub", home / "solution.py", stub_fails=exercise.stub_fails))
    else:
        problems.append(f"no stub: {exercise.id}/solution.py is missing")
    ids = {c.id for c in exercise.checks}
    for path in sorted(home.glob("pass__*.py")):
        found.append(Case("pass", path))
    for path in sorted(home.glob("fail__*.py")):
        check = path.name.split("__")[1] if path.name.count("__") >= 2 else ""
        if check not in ids:
            problems.append(f"{path.name}: names check {check!r}, which {exercise.id} does not have ({', '.join(ids)})")
        else:
            found.append(Case("fail", path, check=check))
    return found, problems


def _failed(report: Report) -> str:
    bad = [c for c in report.checks if not c.passed]
    return "; ".join(f"{c.id}: {c.message[:160]}" for c in bad[:3]) or "none"


def problem(case: Case, report: Report) -> str | None:
    """Why `report` breaks what `case` must show, or None when it holds."""
    got = f"{report.score:g}/{report.max_score:g} ({report.status})"
    if report.fault == "grader":
        return f"{case.label}: could not be judged — {report.reason}"
    if case.kind in ("reference", "pass"):
        if report.status == "passed" and report.score == report.max_score:
            return None
        return f"{case.label}: must get full marks, got {got}; failed {_failed(report)}" + (
            f" [{report.reason}]" if report.reason else ""
        )
    if case.kind == "stub":
        return _stub_problem(case, report, got)
    verdict = next((c for c in report.checks if c.id == case.check), None)
    if verdict is not None and not verdict.passed and not verdict.message.startswith("not run"):
        return None
    why = "it passed" if verdict is not None and verdict.passed else (verdict.message[:160] if verdict else "absent")
    return f"{case.label}: must fail check {case.check}, but {why}; score {got}"


def _stub_problem(case: Case, report: Report, got: str) -> str | None:
    if case.stub_fails:
        passed = [c.id for c in report.checks if c.passed and c.id in case.stub_fails]
        if passed or report.score >= report.max_score:
            return f"{case.label}: the stub must fail {', '.join(case.stub_fails)}, got {got}"
        return None
    scored = [c.id for c in report.checks if c.score]
    return None if report.score == 0 else f"{case.label}: the stub must score 0, got {got} from {', '.join(scored)}"


class ReplaySandbox:
    """The sandbox of --replay: each request gets the outcome recorded for its case, no container runs."""

    name = "replay"

    def __init__(self, recording: Path) -> None:
        self.recording = recording

    def run(self, request: RunRequest) -> RunOutcome:
        return load_outcome(self.recording)


class RecordingSandbox:
    """The sandbox of --record: runs in the real sandbox and keeps the outcome next to the case's file."""

    def __init__(self, inner: Sandbox, recording: Path) -> None:
        self.inner, self.recording = inner, recording
        self.name = inner.name

    def run(self, request: RunRequest) -> RunOutcome:
        outcome = self.inner.run(request)
        if not outcome.infra_error:  # an engine failure is not the program's outcome: never kept
            save_outcome(outcome, self.recording)
        return outcome


def save_outcome(outcome: RunOutcome, path: Path) -> None:
    raw = outcome.model_dump(mode="python")
    raw["stdout"], raw["stderr"] = base64.b64encode(outcome.stdout).decode(), base64.b64encode(outcome.stderr).decode()
    # the trace compressed, as the entrypoint sends it: a recording is a tenth of the size in the repository
    raw["trace_z"] = base64.b64encode(zlib.compress(raw.pop("trace").encode(), 9)).decode()
    path.write_text(json.dumps(raw, indent=0, sort_keys=True) + "\n", encoding="utf-8")


def load_outcome(path: Path) -> RunOutcome:
    """A recorded outcome; a missing or damaged recording is one line saying how to make it again."""
    from grader.errors import GraderError

    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        raw["stdout"], raw["stderr"] = base64.b64decode(raw["stdout"]), base64.b64decode(raw["stderr"])
        raw["trace"] = zlib.decompress(base64.b64decode(raw.pop("trace_z"))).decode("utf-8")
        return RunOutcome.model_validate(raw)
    except FileNotFoundError:
        raise GraderError(f"no recording {path.name} — run `grade verify --record` first") from None
    except (ValueError, KeyError, TypeError, zlib.error) as err:
        raise GraderError(f"{path}: not a recording ({type(err).__name__}) — re-record with --record") from None


def _sandbox_for(case: Case, mode: Mode, sandbox: Sandbox | None) -> Sandbox:
    if mode == "replay":
        return ReplaySandbox(case.recording)
    assert sandbox is not None
    return RecordingSandbox(sandbox, case.recording) if mode == "record" else sandbox


def run_case(exercise: Exercise, case: Case, *, mode: Mode, sandbox: Sandbox | None, settings: Settings) -> Report:
    """The report for one case: run, run and record, or re-judged from its recording."""
    from grader.grading import broken

    if mode == "replay" and not case.recording.is_file():
        return broken(exercise, f"no recording {case.recording.name} — run `grade verify --record` first")
    box = _sandbox_for(case, mode, sandbox)
    s = settings.model_copy(update={"start_method": case.start_method})
    return grade_or_error(exercise, case.path.read_bytes(), sandbox=box, settings=s, name=case.path.name)


def verify(
    exercises: Sequence[tuple[Exercise, Path | None]],
    *,
    mode: Mode,
    sandbox: Sandbox | None,
    settings: Settings,
    jobs: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Proof]:
    """One proof per exercise (given with its pack's solutions/ folder), its cases run `jobs` at a time."""
    proofs = []
    work: list[tuple[Proof, Case]] = []
    for exercise, solutions in exercises:
        found, problems = cases(exercise, solutions)
        proof = Proof(exercise, problems=problems)
        proofs.append(proof)
        work += [(proof, c) for c in found]
    workers = 1 if mode == "replay" else max(1, jobs or min(4, os.cpu_count() or 1))

    def one(item: tuple[Proof, Case]) -> tuple[Proof, Case, str | None]:
        proof, case = item
        report = run_case(proof.exercise, case, mode=mode, sandbox=sandbox, settings=settings)
        if progress is not None:
            progress(f"{proof.exercise.id}: {case.label}")
        return proof, case, problem(case, report)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="grade-verify") as pool:
        for proof, case, why in pool.map(one, work):
            proof.total[case.kind] += 1
            if why is None:
                proof.held[case.kind] += 1
            else:
                proof.problems.append(why)
    return proofs
