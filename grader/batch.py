"""Many submissions: find each student's files, grade them concurrently, store each result as it comes, resume."""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from grader.archives import Unpacker, is_zip, student_budget
from grader.catalog import Exercise
from grader.errors import GraderError, StoreError, SubmissionError
from grader.grading import broken, grade_or_error, rejected
from grader.interrupts import restore, sigterm_as_interrupt, stop_runs
from grader.layouts import Found, find, printable, student_of
from grader.report import Report
from grader.sandbox.base import RunRequest, Sandbox
from grader.sandbox.outcome import RunOutcome
from grader.settings import Settings
from grader.store import BaseStore, Row, now
from grader.submission import SOURCE_BYTES

RETRIES = 2  # infrastructure failures are retried this many times before the cell is recorded as `error`
BACKOFF_S = 1.0
# A stored report keeps its checks and (capped) output; the process tree only while it is small: a flood of
# lines made an 84 MB row once, and nothing read from the store needs the tree.
STORED_TREE_BYTES = 256 << 10
READ_CHUNK = 1 << 20


def default_jobs() -> int:
    """Runs mostly wait (on the engine, on sleeping programs), so more runs than cores pay: on 2 cores
    bench/bench_batch.py measured 0.70 runs/s at --jobs 1, 1.57 at 2, 1.72 at 4, 2.32 at 6, 2.77 at 8."""
    return max(2, min(16, 4 * (os.cpu_count() or 1)))


@dataclass(frozen=True)
class Cell:
    student: str
    exercise: Exercise
    found: Found | None  # None: the student handed in nothing for this exercise
    source: bytes = b""
    sha256: str = ""
    others: tuple[Found, ...] = ()  # candidates the rule order passed over
    too_big: str | None = None  # why the file is refused by its size alone (its bytes were then not kept)


@dataclass
class Summary:
    planned: int = 0
    skipped: int = 0  # already graded with the same file and grader version
    counts: Counter[str] = field(default_factory=Counter)
    infra: list[Row] = field(default_factory=list)  # cells whose run the infrastructure failed
    interrupted: bool = False
    removed: int = 0  # containers removed on interruption
    elapsed_s: float = 0.0


class Observer(Protocol):
    """What the batch tells its caller as it goes; the CLI draws a progress bar from it."""

    def planned(self, total: int, skipped: int) -> None: ...
    def started(self, cell: Cell) -> None: ...
    def finished(self, cell: Cell, row: Row) -> None: ...
    def retrying(self, cell: Cell, attempt: int, cause: str) -> None: ...


class NullObserver:
    def planned(self, total: int, skipped: int) -> None: ...
    def started(self, cell: Cell) -> None: ...
    def finished(self, cell: Cell, row: Row) -> None: ...
    def retrying(self, cell: Cell, attempt: int, cause: str) -> None: ...


def students(root: Path) -> dict[str, list[Path]]:
    """student id -> the folders and files that are theirs: one sub-folder each, plus top-level Moodle or
    Canvas download files (programs, or zips a student uploaded) grouped by the student their name gives."""
    if not root.is_dir():
        raise GraderError(
            f"{root} is not a folder — pass the folder holding one sub-folder per student, or the LMS download zip"
        )
    found: dict[str, list[Path]] = {}
    for entry in sorted(root.iterdir()):
        if entry.name.startswith((".", "_")):
            continue
        name = printable(entry.name)  # the id the store and the exports show, even for a name that is not UTF-8
        if entry.is_dir():
            found.setdefault(name, []).append(entry)
        elif entry.suffix.lower() in (".py", ".zip") and (who := student_of(name)):
            found.setdefault(who, []).append(entry)
    if not found:
        raise GraderError(f"no student folders in {root} — it should hold one sub-folder per student")
    return found


def discover(
    root: Path, exercises: Sequence[Exercise], *, notes: list[str] | None = None, max_bytes: int = SOURCE_BYTES
) -> list[Cell]:
    """Every (student, exercise) cell, in student order, with the file's bytes and hash. `root` may be the
    LMS download zip itself, and a student's zip is searched like their folder; `notes` receives the
    students' zips that could not be read. A file over `max_bytes` (the settings' source_bytes) keeps only
    its hash and the reason it is refused."""
    with ExitStack() as stack:
        unpacker = Unpacker(stack)
        if is_zip(root):
            root = unpacker.extract(root)
        cells = []
        for student, places in students(root).items():
            chosen = find(_opened(places, unpacker), exercises)
            for ex in exercises:
                if ex.id not in chosen:
                    cells.append(Cell(student, ex, None))
                    continue
                best, rest = chosen[ex.id]
                try:
                    source, digest, size = _read(best.path, max_bytes)
                except OSError as err:
                    where = unpacker.label(best.path)
                    raise SubmissionError(f"cannot read {where}: {err.strerror} — check its permissions") from err
                too_big = None if size <= max_bytes else _too_big(best.path.name, size, max_bytes)
                best, rest = _shown(best, unpacker), [_shown(f, unpacker) for f in rest]
                cells.append(Cell(student, ex, best, source, digest, tuple(rest), too_big))
        if notes is not None:
            notes += unpacker.skipped
        return cells


def _read(path: Path, limit: int) -> tuple[bytes, str, int]:
    """The file's bytes, sha256 and size in one pass that holds no more than `limit` bytes: a file over the
    size limit is refused by its size alone, so a 1 GiB one must not sit in memory for the whole batch (every
    cell's source is held until it is graded; one such file once took the grader to 1.4 GB)."""
    digest, size, kept = hashlib.sha256(), 0, bytearray()
    with path.open("rb") as f:
        while chunk := f.read(READ_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            if size <= limit:
                kept += chunk
            else:
                kept.clear()
    return bytes(kept), digest.hexdigest(), size


def _too_big(name: str, size: int, limit: int) -> str:
    # grading.precheck's words for the same refusal, which it gives a file it is handed whole
    over = f"over the limit of {limit:,} bytes ({limit >> 10} KiB)"
    return f"{printable(name)} is {size:,} bytes, {over} — is it the right file?"


def _opened(places: list[Path], unpacker: Unpacker) -> list[Path]:
    """The student's places, with each zip they handed in (as a download file or inside their folder) opened."""
    opened = []
    budget = student_budget()  # all of one student's zips together, within the batch's own budget
    for place in places:
        if is_zip(place):
            opened.append(unpacker.extract(place, nested=True, student=budget))
            continue
        opened.append(place)
        if place.is_dir():
            zips = [z for z in sorted(place.rglob("*.zip")) if is_zip(z)]
            opened += [unpacker.extract(z, nested=True, student=budget) for z in zips]
    return opened


def _shown(found: Found, unpacker: Unpacker) -> Found:
    """A file that came out of a zip is named by the zip and its place inside it, not by the temporary copy."""
    label = unpacker.label(found.path)
    if label == str(found.path):
        return found
    return replace(found, shown=label, detail=f"{found.detail} (in {label.rsplit('!', 1)[0]})")


class _Retrying:
    """The sandbox, with bounded retries of infrastructure failures; remembers the last cause."""

    def __init__(self, inner: Sandbox, stop: threading.Event, on_retry: Callable[[int, str], None]) -> None:
        self.inner, self.stop, self.on_retry = inner, stop, on_retry
        self.name = inner.name
        self.cause: str | None = None

    def run(self, request: RunRequest) -> RunOutcome:
        for attempt in range(RETRIES + 1):
            try:
                outcome = self.inner.run(request)
            except SubmissionError:
                raise
            except Exception as err:  # noqa: BLE001 — an engine or image failure: the cell's `error`, not the batch's
                outcome = RunOutcome(infra_error=f"{type(err).__name__}: {err}")
            cause = _infra_cause(outcome, request)
            if cause is None:
                self.cause = None
                return outcome
            self.cause = cause
            if attempt < RETRIES and not self.stop.is_set():
                self.on_retry(attempt + 1, cause)
                self.stop.wait(BACKOFF_S * 2**attempt)
            if self.stop.is_set():
                break
        return outcome


def _infra_cause(outcome: RunOutcome, request: RunRequest) -> str | None:
    """Why the sandbox failed this run (worth another attempt), or None when the run itself ended."""
    if outcome.infra_error:
        # a container killed for outliving its time is the program's doing, not the engine's
        return None if outcome.kill_reason == "timeout" else outcome.infra_error
    if request.dns and outcome.dns_error:
        return f"the DNS server (dnsmasq) failed to start: {outcome.dns_error}"
    return None


def stored(report: Report) -> str:
    """The report as the store keeps it: bounded, whatever the program printed or did."""
    if report.tree is not None and len(report.tree.model_dump_json()) > STORED_TREE_BYTES:
        report = report.model_copy(update={"tree": None})
    return report.model_dump_json()


def _row(cell: Cell, report: Report | None) -> Row:
    if report is None:
        return Row(
            cell.student,
            cell.exercise.id,
            "",
            cell.exercise.judge_version,
            "missing",
            0.0,
            cell.exercise.max_score,
            "no file for this exercise",
            False,
            None,
            None,
            None,
            0.0,
            now(),
            1,
        )
    return Row(
        cell.student,
        cell.exercise.id,
        cell.sha256,
        cell.exercise.judge_version,
        report.status,
        report.score,
        report.max_score,
        report.reason,
        report.fault == "grader",  # retried on resume, listed apart: never the student's
        printable(cell.found.label) if cell.found else None,
        printable(cell.found.detail) if cell.found else None,
        stored(report),
        report.duration_s,
        now(),
        1,
    )


def grade_cell(
    cell: Cell, sandbox: Sandbox, settings: Settings, stop: threading.Event, on_retry: Callable[[int, str], None]
) -> Row:
    """One cell, never raising for the student's faults nor the engine's: those are the row's status."""
    if cell.found is None:
        return _row(cell, None)
    name = printable(cell.found.path.name)
    if cell.too_big is not None:
        report = rejected(cell.exercise, cell.too_big, name=name, sandbox=sandbox.name)
        report.sha256 = cell.sha256
        return _row(cell, report)
    return _row(cell, grade_source(cell.exercise, cell.source, name, sandbox, settings, stop, on_retry))


def grade_source(
    exercise: Exercise,
    source: bytes,
    name: str,
    sandbox: Sandbox,
    settings: Settings,
    stop: threading.Event,
    on_retry: Callable[[int, str], None],
) -> Report:
    """One file's report, with the infrastructure's failures retried (a cluster worker grades through this too)."""
    retrying = _Retrying(sandbox, stop, on_retry)
    # a file over the size limit is the student's `failed`; a check that raised is the grader's `error`
    report = grade_or_error(exercise, source, sandbox=retrying, settings=settings, name=name)
    if retrying.cause is not None:
        report.reason = f"infrastructure failure after {RETRIES + 1} attempts: {retrying.cause}"
    return report


def _crashed(cell: Cell, err: Exception) -> Row:
    """The row of a cell the grader failed on outside grading itself: an `error` at the grader's fault, stored
    like any other so the batch goes on and a rerun tries it again."""
    why = f"the grader failed on this cell ({type(err).__name__}: {str(err)[:200]})"
    return _row(cell, broken(cell.exercise, why))


def plan(cells: Sequence[Cell], store: BaseStore, summary: Summary, *, regrade: bool) -> list[Cell]:
    """The cells to grade: those the store has no result for with this file and judge (all, with `regrade`);
    the others are marked current and counted in `summary` as resumed."""
    todo = []
    for cell in cells:
        version = cell.exercise.judge_version  # the engine's and this exercise's own
        old = None if regrade else store.done(cell.student, cell.exercise.id, cell.sha256, version)
        if old is not None:
            store.mark(cell.student, cell.exercise.id, cell.sha256, version)
            summary.skipped += 1
            summary.counts[old.status] += 1
        else:
            todo.append(cell)
    return todo


def run_batch(
    cells: Sequence[Cell],
    *,
    store: BaseStore,
    sandbox: Sandbox,
    settings: Settings,
    jobs: int,
    regrade: bool = False,
    observer: Observer | None = None,
) -> Summary:
    """Grade the cells `jobs` at a time, storing each result the moment it is known. Ctrl-C stops taking
    work, removes the running containers and returns with `interrupted` set; finished results stay."""
    obs = observer or NullObserver()
    summary = Summary(planned=len(cells))
    t0 = time.monotonic()
    todo = plan(cells, store, summary, regrade=regrade)
    obs.planned(len(cells), summary.skipped)
    stop = threading.Event()

    def work(cell: Cell) -> Row:
        if stop.is_set():
            raise _Cancelled
        obs.started(cell)
        try:
            return grade_cell(cell, sandbox, settings, stop, lambda n, cause: obs.retrying(cell, n, cause))
        except Exception as err:  # noqa: BLE001 — one cell's grader bug must not throw away the class's results
            return _crashed(cell, err)

    pool = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="grade")
    pending: dict[Future[Row], Cell] = {}
    main = threading.current_thread() is threading.main_thread()
    # SIGTERM (a closed terminal, a CI cancel) stops the batch like Ctrl-C instead of stranding containers
    on_term = sigterm_as_interrupt()
    try:
        pending = {pool.submit(work, cell): cell for cell in todo}
        while pending:
            done, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for fut in done:
                cell = pending.pop(fut)
                row = fut.result()
                store.put(row)
                summary.counts[row.status] += 1
                if row.infra:
                    summary.infra.append(row)
                obs.finished(cell, row)
    except (KeyboardInterrupt, StoreError) as err:
        # Ctrl-C, or results that can no longer be stored: either way nothing more should run
        summary.interrupted = True
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None  # a second Ctrl-C must wait
        try:
            stop.set()
            pool.shutdown(wait=False, cancel_futures=True)
            summary.removed = stop_runs(sandbox)
            # queued work was cancelled, and a cancelled future never counts as done for wait(): only the runs
            # already under way are waited for
            wait([f for f in pending if not f.cancelled()], timeout=settings.start_margin_s)
        finally:
            if main:
                signal.signal(signal.SIGINT, previous)
        if isinstance(err, StoreError):
            raise
    finally:
        pool.shutdown(wait=not summary.interrupted, cancel_futures=True)
        restore(on_term)
        summary.elapsed_s = time.monotonic() - t0
    return summary


class _Cancelled(Exception):
    pass
