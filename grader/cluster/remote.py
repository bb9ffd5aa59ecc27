"""`grade batch --broker`: the local batch's discovery, resume, progress and summary, with the runs handed to
`grade worker`s through Redis and each result stored by this process the moment it arrives.

Nothing lost: a result waits in Redis until it is stored (then it is deleted), so a coordinator stopped by a
store outage or Ctrl-C finds it there on the next run; task ids are derived from (judge, student, exercise,
file), so a re-run asks for the same tasks. At most a window of runs is on the broker at a time, topped up as
results are stored. A broker that restarted (its run id changes) lost its queue: the runs it held are sent
again. Nothing mixed: results come only from this judge's queue, and a result
that names another judge is refused, never stored as a verdict; a task delivered twice is stored once."""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from grader import judge_version
from grader.batch import Cell, NullObserver, Observer, Summary, _row, grade_cell, plan
from grader.cluster.app import CANCEL_PREFIX, TASK, make_app, queue_for
from grader.cluster.worker import check_broker, task_payload
from grader.errors import GraderError, StoreError
from grader.grading import broken
from grader.interrupts import restore, sigterm_as_interrupt
from grader.layouts import printable
from grader.report import Report
from grader.settings import Settings
from grader.store import BaseStore, Row
from grader.urls import redact

POLL_S = 0.25
RUN_ID_EVERY_S = 2.0
IDLE_NOTE_S = 30.0  # nothing arrived for this long: say whether any worker still listens
BROKER_WAIT_S = 300.0  # a broker away this long stops the batch (what was stored is kept)
WORKERS_WAIT_S = 6.0  # how long to look for a worker of this judge before refusing to start
CHUNK = 500
WINDOW = 2000  # runs on the broker at a time (GRADE_BROKER_WINDOW): many times what any set of workers runs at once
RESENDS = 2


class _Unsandboxed:
    """The sandbox of cells that need no run (no file, a file over the size limit): never asked to run."""

    name = "remote"

    def run(self, request: Any) -> Any:
        raise AssertionError("a cell without a run reached the sandbox")


def task_id(cell: Cell, nonce: str) -> str:
    key = "\0".join((judge_version(), cell.student, cell.exercise.id, cell.sha256, nonce))
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:32]


class Broker:
    """The coordinator's side of Redis: send tasks, collect and delete results, notice a restart."""

    def __init__(self, broker: str, settings: Settings) -> None:
        self.url, self.settings = broker, settings
        self.app = make_app(broker)
        check_broker(self.app, broker)
        self.backend = self.app.backend
        self.queue = queue_for(judge_version())
        self.run_id = self._run_id()

    def _run_id(self) -> str:
        return str(self.backend.client.info("server")["run_id"])

    def restarted(self) -> bool:
        now = self._run_id()
        changed, self.run_id = now != self.run_id, now
        return changed

    def workers(self, *, first: bool = False) -> dict[str, list[str]]:
        """Each worker that answers, with the queues it takes; `first`: only the first to answer (a broadcast
        otherwise waits its whole timeout, not knowing how many workers there are)."""
        replies = self.app.control.inspect(timeout=1.5, limit=1 if first else None).active_queues() or {}
        return {name: [q.get("name", "") for q in queues] for name, queues in replies.items()}

    def send(self, batch: str, tasks: dict[str, Cell]) -> None:
        with self.app.producer_or_acquire() as producer:
            for tid, cell in tasks.items():
                assert cell.found is not None
                name = printable(cell.found.path.name)
                payload = task_payload(batch, cell.exercise, name, cell.source, cell.sha256, self.settings)
                self.app.send_task(TASK, args=[payload], task_id=tid, queue=self.queue, producer=producer)

    def ready(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The results waiting for these task ids: id -> Celery's meta (status, result)."""
        found = {}
        for i in range(0, len(ids), CHUNK):
            chunk = list(ids[i : i + CHUNK])
            values = self.backend.client.mget([self.backend.get_key_for_task(t) for t in chunk])
            for tid, value in zip(chunk, values, strict=True):
                if value is not None:
                    meta = self.backend.decode_result(value)
                    if meta.get("status") in ("SUCCESS", "FAILURE"):
                        found[tid] = meta
        return found

    def forget(self, ids: Sequence[str]) -> None:
        if ids:
            self.backend.client.delete(*(self.backend.get_key_for_task(t) for t in ids))

    def cancel(self, batch: str) -> None:
        self.backend.client.set(CANCEL_PREFIX + batch, "1", ex=24 * 3600)


def result_row(cell: Cell, meta: dict[str, Any], tid: str) -> Row:
    """The row of a result as a worker sent it; a refusal, a failure or another judge's verdict is an error at
    the grader's fault (retried on the next run), never a verdict."""
    ours = judge_version()
    result = meta.get("result")
    if meta.get("status") != "SUCCESS" or not isinstance(result, dict):
        why = f"the worker failed on this cell ({str(result)[:200]})"
    elif result.get("judge") != ours:
        why = f"graded by judge {str(result.get('judge'))[:40]}, not this batch's {ours}: not stored as a verdict"
    elif "refused" in result:
        why = f"a worker refused the task: {str(result['refused'])[:200]}"
    else:
        try:
            report = Report.model_validate_json(str(result.get("report")))
        except ValueError as err:
            why = f"a worker's report does not parse ({str(err).splitlines()[0][:200]})"
        else:
            report.sha256 = cell.sha256
            return _with_task(_row(cell, report), tid)
    return _with_task(_row(cell, broken(cell.exercise, why, sandbox="remote")), tid)


def _with_task(row: Row, tid: str) -> Row:
    return replace(row, task=tid)


def run_remote(
    cells: Sequence[Cell],
    *,
    store: BaseStore,
    broker: Broker,
    settings: Settings,
    regrade: bool = False,
    observer: Observer | None = None,
    note: Callable[[str], None] = lambda text: None,
) -> Summary:
    """Grade the cells on the workers (`broker`, connected first so a wrong URL stops the batch before anything
    is done); Ctrl-C stops the batch (its queued runs are dropped by the workers)."""
    obs = observer or NullObserver()
    size = window()  # a bad GRADE_BROKER_WINDOW stops the batch before anything is done
    summary = Summary(planned=len(cells))
    t0 = time.monotonic()
    todo = plan(cells, store, summary, regrade=regrade)
    obs.planned(len(cells), summary.skipped)
    client = broker
    batch = uuid.uuid4().hex
    runs = _grade_here(todo, store, settings, summary, obs)
    tasks = {task_id(cell, batch if regrade else ""): cell for cell in runs}
    if tasks:
        require_workers(client)
    on_term = sigterm_as_interrupt()  # SIGTERM stops the batch as Ctrl-C does
    try:
        _collect(client, _Window(client, batch, size), tasks, store, summary, obs, note)
    except (KeyboardInterrupt, StoreError) as err:
        summary.interrupted = True
        _quietly(client.cancel, batch)
        if isinstance(err, StoreError):
            raise
    finally:
        restore(on_term)
        summary.elapsed_s = time.monotonic() - t0
    return summary


def _grade_here(todo: list[Cell], store: BaseStore, settings: Settings, summary: Summary, obs: Observer) -> list[Cell]:
    """Store the cells that need no run (no file; a file refused by its size before it is sent); the rest."""
    runs = []
    stop = threading.Event()
    for cell in todo:
        if cell.found is not None and cell.too_big is None:
            runs.append(cell)
            continue
        row = grade_cell(cell, _Unsandboxed(), settings, stop, lambda n, why: None)
        _store(store, cell, row, summary, obs)
    return runs


def _store(store: BaseStore, cell: Cell, row: Row, summary: Summary, obs: Observer) -> None:
    store.put(row)
    summary.counts[row.status] += 1
    if row.infra:
        summary.infra.append(row)
    obs.finished(cell, row)


def require_workers(client: Broker) -> None:
    """Refuse to start when no worker of this judge listens: the batch would wait for ever, or worse, another
    judge's workers would be the ones to grade it."""
    deadline = time.monotonic() + WORKERS_WAIT_S
    seen: dict[str, list[str]] = {}
    if any(client.queue in queues for queues in client.workers(first=True).values()):
        return  # the usual case, at once
    while time.monotonic() < deadline:
        seen = client.workers()
        if any(client.queue in queues for queues in seen.values()):
            return
    if not seen:
        raise GraderError(
            f"no grade worker answers on {redact(client.url)} — start `grade worker --broker URL` on the worker "
            "hosts (deploy/ has a systemd unit), then run the same command"
        )
    judges = sorted({q.removeprefix("grade.judge.") for qs in seen.values() for q in qs if q.startswith("grade.")})
    raise GraderError(
        f"no worker grades with this judge ({judge_version()}); the {len(seen)} worker(s) on the broker run judge "
        f"{', '.join(judges) or '?'} — install this same grade on the workers (or run the batch from theirs): "
        "one batch's results never mix two judges"
    )


def _collect(
    client: Broker,
    out: _Window,
    tasks: dict[str, Cell],
    store: BaseStore,
    summary: Summary,
    obs: Observer,
    note: Callable[[str], None],
) -> None:
    pending = dict(tasks)
    collector = _Collector(client, out.batch, store, summary, obs)
    collector.take(client.ready(list(pending)), pending)  # an interrupted run's results
    out.fill_from(pending)
    last_id_check = last_result = time.monotonic()
    away_since: float | None = None
    while out.more():
        try:
            out.top_up()
            got = collector.take(client.ready(list(out.sent)), out.sent)
            now = time.monotonic()
            if got:
                last_result = now
            if now - last_id_check > RUN_ID_EVERY_S or away_since is not None:
                last_id_check = now
                if client.restarted():
                    note(f"the broker restarted: sending the {out.requeue()} run(s) it held again")
            away_since = None
            if now - last_result > IDLE_NOTE_S:
                last_result = now
                _idle_note(client, note)
        except (OSError, ConnectionError) as err:
            away_since = _broker_away(client, away_since, err, note)
        except Exception as err:  # noqa: BLE001 — redis-py and kombu raise their own connection errors
            if not any(word in type(err).__name__ for word in ("Connection", "Timeout", "OperationalError")):
                raise
            away_since = _broker_away(client, away_since, err, note)
        time.sleep(POLL_S)


class _Window:
    """The runs on the broker: at most `size` at a time, topped up as results are stored. The poll asks only
    for these, and Redis never holds a whole MOOC's sources at once."""

    def __init__(self, client: Broker, batch: str, size: int) -> None:
        self.client, self.batch, self.size = client, batch, size
        self.waiting: deque[tuple[str, Cell]] = deque()
        self.sent: dict[str, Cell] = {}

    def fill_from(self, pending: dict[str, Cell]) -> None:
        self.waiting.extend(pending.items())

    def more(self) -> bool:
        return bool(self.sent or self.waiting)

    def requeue(self) -> int:
        """The broker lost its queue: every run it held goes out again first, at the next top-up."""
        held = len(self.sent)
        self.waiting.extendleft(reversed(self.sent.items()))
        self.sent.clear()
        return held

    def top_up(self) -> None:
        """Send runs until the window is full. Runs a failed send may not have sent wait for the next top-up
        (one sent twice is stored once)."""
        fresh: dict[str, Cell] = {}
        while self.waiting and len(self.sent) + len(fresh) < self.size:
            tid, cell = self.waiting.popleft()
            fresh[tid] = cell
        if not fresh:
            return
        try:
            self.client.send(self.batch, fresh)
        except BaseException:
            self.waiting.extendleft(reversed(fresh.items()))
            raise
        self.sent.update(fresh)


def window() -> int:
    """Runs on the broker at a time: GRADE_BROKER_WINDOW, else WINDOW."""
    value = os.environ.get("GRADE_BROKER_WINDOW", "")
    if not value:
        return WINDOW
    if not value.isdigit() or int(value) < 1:
        raise GraderError(f"GRADE_BROKER_WINDOW={value[:20]!r} is not a whole number of runs (1 or more) — fix it")
    return int(value)


class _Collector:
    """Takes results off Redis into the store; a task that failed on its worker (not a student's fault: the
    worker's own trouble, such as its broker going away as it sent the result) is sent again, RESENDS times,
    before it is stored as the grader's error."""

    def __init__(self, client: Broker, batch: str, store: BaseStore, summary: Summary, obs: Observer) -> None:
        self.client, self.batch, self.store, self.summary, self.obs = client, batch, store, summary, obs
        self.failures: Counter[str] = Counter()

    def take(self, ready: dict[str, dict[str, Any]], pending: dict[str, Cell]) -> int:
        done, again = [], {}
        for tid, meta in ready.items():
            if tid not in pending:
                continue
            if meta.get("status") != "SUCCESS" and self.failures[tid] < RESENDS:
                self.failures[tid] += 1
                again[tid] = pending[tid]
                continue
            cell = pending.pop(tid)
            _store(self.store, cell, result_row(cell, meta, tid), self.summary, self.obs)
            done.append(tid)
        _quietly(self.client.forget, done)  # stored: a second delivery's result would find nothing to replace
        if again:
            self.client.forget(list(again))
            self.client.send(self.batch, again)
        return len(done)


def _broker_away(client: Broker, since: float | None, err: BaseException, note: Callable[[str], None]) -> float:
    now = time.monotonic()
    if since is None:
        note(f"lost the broker at {redact(client.url)} ({type(err).__name__}); waiting for it to come back")
        return now
    if now - since > BROKER_WAIT_S:
        raise GraderError(
            f"the broker at {redact(client.url)} has been unreachable for {BROKER_WAIT_S:.0f}s — start redis-server "
            "again and run the same command: what was stored so far is kept"
        )
    time.sleep(1.0)
    return since


def _idle_note(client: Broker, note: Callable[[str], None]) -> None:
    try:
        listening = [w for w, queues in client.workers().items() if client.queue in queues]
    except Exception:  # noqa: BLE001 — only a note
        return
    if not listening:
        note(f"no worker of judge {judge_version()} is listening: waiting (start one, or Ctrl-C and run again later)")


def _quietly(action: Callable[[Any], None], arg: Any) -> None:
    # a best effort on the way out; the result keys expire on their own
    with contextlib.suppress(Exception):
        action(arg)
