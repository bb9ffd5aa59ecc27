"""The Celery application both sides share: JSON only, late acknowledgement, one queue per judge version.

Safety: a message is only ever read as JSON (`accept_content`), so whoever reaches the broker can ask for
runs, which is what the broker is for, but cannot make a worker unpickle code. A task names the exercise, the
file and the run's limits; the sandbox and the image are the worker's own choice, never the message's.

Routing: the queue is named after the judge version, so a worker only ever takes runs of the judge it is
(`grade --version` prints it); a batch's results never mix two judges."""

from __future__ import annotations

import os
import ssl
from typing import Any
from urllib.parse import parse_qs, urlsplit

from grader.errors import GraderError
from grader.urls import redact

TASK = "grade.run"
PROTOCOL = 1  # the task's own format, checked by the worker
CANCEL_PREFIX = "grade:cancel:"
# A run a worker took but never acknowledged (the worker was killed, its host lost) goes back to the queue
# after this long. Longer than any run with its retries (10 s limit + 15 s margin, 3 attempts with backoff);
# a shorter value only costs a run graded twice, which the store keeps once.
REDELIVER_S = float(os.environ.get("GRADE_REDELIVER_S", "300"))


def queue_for(judge: str) -> str:
    return f"grade.judge.{judge}"


def _check_url(broker: str) -> None:
    scheme = urlsplit(broker).scheme.lower()
    if scheme not in ("redis", "rediss"):
        raise GraderError(
            f"{redact(broker)} is not a Redis URL — pass --broker redis://HOST:6379/0 (rediss:// for TLS)"
        )


def tls_options(broker: str) -> dict[str, Any] | None:
    """rediss:// verifies the server's certificate unless the URL says otherwise (Celery refuses a rediss:// URL
    without ssl_cert_reqs; a secure default is what a URL without it should mean)."""
    parts = urlsplit(broker)
    if parts.scheme.lower() != "rediss" or "ssl_cert_reqs" in parse_qs(parts.query):
        return None
    return {"ssl_cert_reqs": ssl.CERT_REQUIRED}


def make_app(broker: str) -> Any:
    """The Celery app for this broker; Redis is also where results wait for the coordinator."""
    _check_url(broker)
    try:
        from celery import Celery
    except ImportError:
        raise GraderError(
            "grading on a cluster needs Celery — install the cluster extra: pip install 'grade-autograder[cluster]'"
        ) from None
    app = Celery("grade", broker=broker, backend=broker, set_as_current=False)
    tls = tls_options(broker)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        event_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        task_acks_late=True,  # acknowledged when graded: a worker lost mid-run leaves the run to another
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # a worker holds no more runs than it grades at once
        broker_transport_options={"visibility_timeout": REDELIVER_S},
        result_expires=7 * 24 * 3600,  # a result the coordinator has not collected waits a week for a re-run
        result_extended=False,
        broker_connection_retry_on_startup=True,
        # a result the broker cannot take now (it restarts) is retried, not dropped: about 5 minutes in all
        result_backend_always_retry=True,
        result_backend_max_retries=40,
        result_backend_base_sleep_between_retries_ms=200,
        result_backend_max_sleep_between_retries_ms=10_000,
        worker_send_task_events=False,
        task_send_sent_event=False,
        broker_use_ssl=tls,
        redis_backend_use_ssl=tls,
    )
    return app
