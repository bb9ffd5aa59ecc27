"""`grade worker`: a Celery worker that grades runs on its own host's sandbox, N at a time.

A task carries the file's bytes, so workers need no shared file system; the result goes back through Redis to
the coordinator, which alone writes the store (a worker runs hostile programs: it holds no database password).
Each container a worker starts carries the worker's name as a label, so a worker restarted after SIGKILL
removes what it left behind, and only that: two workers on one Docker engine never remove each other's runs."""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from grader import judge_version
from grader.cluster.app import CANCEL_PREFIX, PROTOCOL, TASK, make_app, queue_for
from grader.errors import GraderError
from grader.layouts import printable
from grader.settings import Settings
from grader.urls import redact

if TYPE_CHECKING:
    from grader.catalog import Exercise

WORKER_LABEL = "grade.worker"
# the fields of Settings a task may set: the run's limits. The sandbox, the image and the start method are
# the worker's own: a message must not be able to turn the sandbox off or pick what image runs.
LIMITS = Settings.names() - {"image", "sandbox", "start_method"}
log = logging.getLogger("grade.worker")


class Task(BaseModel):
    """What a task holds, checked before anything runs (a broker is reachable by more than the coordinator)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    protocol: int
    batch: str
    judge: str
    exercise: str
    exercise_judge: str  # the engine's judge and the exercise's own digest: a worker with other checks refuses
    name: str
    sha256: str
    source: str  # base64: JSON carries no bytes
    limits: dict[str, float | int]


def task_payload(
    batch: str, exercise: Exercise, name: str, source: bytes, sha256: str, settings: Settings
) -> dict[str, Any]:
    limits = {k: v for k, v in settings.model_dump().items() if k in LIMITS}
    task = Task(
        protocol=PROTOCOL,
        batch=batch,
        judge=judge_version(),
        exercise=exercise.id,
        exercise_judge=exercise.judge_version,
        name=name,
        sha256=sha256,
        source=base64.b64encode(source).decode(),
        limits=limits,
    )
    return task.model_dump()


def grade_task(payload: Any, sandbox: Any, settings: Settings) -> dict[str, Any]:
    """The result of one task: {"judge", "report"} or {"judge", "refused"}; never raises for a student's file."""
    from grader.batch import grade_source, stored
    from grader.catalog import resolve

    try:
        task = Task.model_validate(payload)
        source = base64.b64decode(task.source, validate=True)
        limits = Settings(**{**settings.model_dump(), **_only_limits(task.limits)})
    except (ValidationError, GraderError, binascii.Error, TypeError) as err:
        return {"judge": judge_version(), "refused": f"malformed task: {str(err).splitlines()[0][:200]}"}
    if task.protocol != PROTOCOL or task.judge != judge_version():
        # the queue is the judge's own, so this is a message put on it by hand: refused, never graded
        why = f"this worker is judge {judge_version()}, the task is for judge {task.judge} (protocol {task.protocol})"
        return {"judge": judge_version(), "refused": why}
    if hashlib.sha256(source).hexdigest() != task.sha256:
        return {"judge": judge_version(), "refused": "the file's bytes do not match its sha256"}
    try:
        exercise = resolve(task.exercise)
    except GraderError as err:
        return {"judge": judge_version(), "refused": str(err)[:200]}
    if exercise.judge_version != task.exercise_judge:  # the same engine, another version of the exercise's checks
        why = f"this worker judges {exercise.id} as {exercise.judge_version}, the task is for {task.exercise_judge}"
        return {"judge": judge_version(), "refused": why}
    stop = threading.Event()
    report = grade_source(exercise, source, task.name, sandbox, limits, stop, lambda n, why: None)
    return {"judge": judge_version(), "report": stored(report)}


def _only_limits(limits: dict[str, float | int]) -> dict[str, float | int]:
    return {k: v for k, v in limits.items() if k in LIMITS}


def sweep(engine: Any, name: str) -> int:
    """Remove the containers a previous life of this worker left (it was killed mid-run); returns how many."""
    from grader.sandbox.docker import remove_strays

    return remove_strays(engine, label=f"{WORKER_LABEL}={name}")


def open_sandbox(settings: Settings, name: str) -> tuple[Any, int]:
    """This host's sandbox, refused in one line when its engine or image is not usable; and the strays swept."""
    if settings.sandbox == "none":
        from grader.sandbox import select

        return select("none", settings), 0
    from grader.sandbox.docker import DockerSandbox

    # every container carries the worker's name: the sweep's key when it starts again
    sandbox = DockerSandbox(settings, labels={WORKER_LABEL: name})  # EngineUnavailable / ImageError: one line
    return sandbox, sweep(sandbox.engine, name)


def check_broker(app: Any, broker: str) -> None:
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=2, interval_start=0.5, interval_step=0.5, timeout=5)
    except Exception as err:  # noqa: BLE001 — kombu raises the transport's own errors
        tls = (
            " (rediss://: is its certificate signed by a CA this host trusts, or one named by ssl_ca_certs=?)"
            if broker.lower().startswith("rediss:")
            else ""
        )
        raise GraderError(
            f"cannot reach the broker at {redact(broker)} ({type(err).__name__}) — is redis-server running there, "
            f"and are the URL's host, port and password right?{tls}"
        ) from None


def run_worker(broker: str, *, jobs: int, name: str, settings: Settings, loglevel: str = "INFO") -> None:
    """Start the worker in this process; returns when it is stopped (SIGTERM: the runs under way finish)."""
    app = make_app(broker)
    check_broker(app, broker)
    sandbox, removed = open_sandbox(settings, name)
    cancelled = _Cancelled(app)

    @app.task(name=TASK)  # type: ignore[untyped-decorator]
    def run(payload: Any) -> dict[str, Any]:
        from celery.exceptions import Ignore

        fields = payload if isinstance(payload, dict) else {}
        batch = fields.get("batch")
        if isinstance(batch, str) and cancelled(batch):
            raise Ignore()  # the coordinator stopped (Ctrl-C): the rest of its runs are dropped, not graded
        t0 = time.monotonic()
        result = grade_task(payload, sandbox, settings)
        status = "refused" if "refused" in result else "graded"
        exercise = printable(str(fields.get("exercise")))[:40]  # the message's words: never raw to a journal
        log.info("%s a run of %s in %.1fs", status, exercise, time.monotonic() - t0)
        return result

    # Celery logs each task's return value: here a report with the student's output, which must not reach a
    # terminal or a journal unneutralised; the worker's own line above says what was done
    logging.getLogger("celery.app.trace").setLevel(logging.WARNING)
    print(
        f"grade worker {name}: judge {judge_version()}, {jobs} at a time on {sandbox.name}, broker "
        f"{redact(broker)}; removed {removed} stray container(s) of an earlier run",
        flush=True,
    )
    app.worker_main(
        [
            "worker",
            "--pool=threads",
            f"--concurrency={jobs}",
            f"--queues={queue_for(judge_version())}",
            f"--hostname={name}",
            "--without-gossip",
            "--without-mingle",
            f"--loglevel={loglevel}",
        ]
    )


class _Cancelled:
    """Whether a batch was stopped by its coordinator, from a Redis key it sets; asked once per task."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, batch: str) -> bool:
        try:
            return bool(self.app.backend.client.exists(CANCEL_PREFIX + batch[:100]))
        except Exception:  # noqa: BLE001 — the broker is briefly away: grade rather than drop the run
            return False
