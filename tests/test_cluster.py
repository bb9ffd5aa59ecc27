"""Grading through the cluster with real servers: a Redis broker and a PostgreSQL store started for the session,
two `grade worker` processes with two names on this machine's Docker engine, and `grade batch --broker`.

Each fault of issue 13 is provoked for real (SIGKILL a worker mid-run, restart redis-server, stop PostgreSQL)
and each ends with every cell stored exactly once, with the verdicts of a local batch into SQLite."""

from __future__ import annotations

import csv
import io
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import docker
import psycopg
import pytest

from grader.catalog import resolve

from .class_factory import make_class
from .conftest import ROOT, ctrl_c_as_at_a_terminal

if TYPE_CHECKING:
    from .servers import Postgres, Redis, TlsRedis

pytest_plugins = ["tests.servers"]  # the session's Redis and PostgreSQL servers, as fixtures
# one xdist worker runs the whole module (`make test` distributes by group): its servers, workers and the
# reference batch are made once
pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("cluster")]
ENV = {"GRADE_TIMEOUT_S": "8", "GRADE_GRACE_S": "0.3", "GRADE_START_MARGIN_S": "10", "GRADE_BROKER_WINDOW": "5"}
WINDOW = 5  # runs on the broker at a time: the class's 26 cells go out a few at a time, in every test here
# worker names are the containers' labels, which each worker's start-up sweep removes: unique to this session,
# so two sessions on one engine (xdist workers, two checkouts) never sweep each other's runs
TAG = secrets.token_hex(3)
W1, W2, OLD, TLS = (f"{who}-{TAG}@{host}" for who, host in (("w1", "a"), ("w2", "b"), ("old", "c"), ("tls", "d")))
REDELIVER_S = 12  # a run taken by a worker that died goes to another after this long (production: 300)
EXERCISES = ("ex1", "ex2")


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, **ENV, "GRADE_REDELIVER_S": str(REDELIVER_S), "PYTHONPATH": str(ROOT), **extra}


class Workers:
    """`grade worker` processes, by name; every one is stopped at the end and must leave no container."""

    def __init__(self, broker: str, folder: Path) -> None:
        self.broker, self.folder = broker, folder
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def start(self, name: str, *, broker: str | None = None, pythonpath: Path = ROOT) -> None:
        log = self.folder / f"{name}.log"
        before = log.stat().st_size if log.exists() else 0
        with (self.folder / f"{name}.log").open("ab") as out:
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", "grader", "worker", "--broker", broker or self.broker, "-j", "2", "-n", name],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=_env(PYTHONPATH=str(pythonpath)),
                cwd=self.folder,  # `python -m` looks in the working folder first: only PYTHONPATH decides
            )
        deadline = time.monotonic() + 120
        while f"{name} ready." not in self.log(name)[before:]:
            assert self.procs[name].poll() is None, self.log(name)
            assert time.monotonic() < deadline, self.log(name)
            time.sleep(0.2)

    def kill(self, name: str) -> None:
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait(timeout=30)

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # a warm shutdown: the runs under way finish
            try:
                proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)


def labelled(name: str) -> list[str]:
    client = docker.from_env()
    try:
        # the raw listing: containers.list() inspects each one it found, and a run that ended meanwhile is a 404
        return [c["Id"] for c in client.api.containers(all=True, filters={"label": f"grade.worker={name}"})]
    finally:
        client.close()


@pytest.fixture(scope="module")
def workers(redis_server: Redis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workers]:
    team = Workers(redis_server.url, tmp_path_factory.mktemp("workers"))
    team.start(W1)
    team.start(W2)
    try:
        yield team
    finally:
        team.stop_all()
    for name in (W1, W2):
        assert labelled(name) == [], f"{name} left containers behind"


@pytest.fixture(scope="module")
def klass(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("class")
    make_class(root, [resolve(e) for e in EXERCISES])
    return root


def _grade(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "grader", *args], capture_output=True, text=True, timeout=timeout, env=_env()
    )


def _batch(root: Path, db: str, broker: str | None, *extra: str) -> list[str]:
    args = ["batch", str(root), "--db", db, *(f"-e{e}" for e in EXERCISES), *extra]
    return [*args, "--broker", broker] if broker else [*args, "--jobs", "4"]


def _popen(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "grader", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env()
    )


@pytest.fixture(scope="module")
def local_csv(klass: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """The reference: the same class through the local batch into SQLite."""
    db = tmp_path_factory.mktemp("local") / "local.sqlite"
    done = _grade(*_batch(klass, str(db), None))
    assert done.returncode == 0, done.stderr
    return _csv(str(db))


def _csv(db: str) -> dict[str, dict[str, str]]:
    done = _grade("export", "--db", db, "--format", "csv")
    assert done.returncode == 0, done.stderr
    return {r["student"]: r for r in csv.DictReader(io.StringIO(done.stdout))}


def _results(url: str) -> list[tuple[str, str, int]]:
    with psycopg.connect(url) as db:
        return db.execute("SELECT student, exercise, runs FROM results ORDER BY student, exercise").fetchall()


def _count(url: str) -> int:
    try:
        with psycopg.connect(url, connect_timeout=2) as db:
            return int(db.execute("SELECT count(*) FROM results").fetchone()[0])  # type: ignore[index]
    except psycopg.Error:
        return 0


def _once_each(url: str, csv_rows: dict[str, dict[str, str]]) -> None:
    """Every cell of the class stored exactly once (one row, one run), and nothing else."""
    rows = _results(url)
    cells = {(s, resolve(e).id) for s in csv_rows for e in EXERCISES}
    assert {(s, e) for s, e, _ in rows} == cells and len(rows) == len(cells)
    assert all(runs == 1 for _, _, runs in rows), [r for r in rows if r[2] != 1]


def _same(got: dict[str, dict[str, str]], want: dict[str, dict[str, str]]) -> None:
    assert got == want


def _no_secret(redis_server: Redis, postgres: Postgres, *texts: str) -> None:
    for text in texts:
        assert redis_server.password not in text and postgres.password not in text


def test_two_workers_grade_the_class_like_a_local_batch(
    workers: Workers, klass: Path, local_csv: dict[str, dict[str, str]], postgres: Postgres, redis_server: Redis
) -> None:
    url = postgres.new_database()
    batch = _popen(_batch(klass, url, redis_server.url))
    queued = _queue_lengths(redis_server, batch)
    out, err = batch.communicate(timeout=600)
    done = subprocess.CompletedProcess(batch.args, batch.returncode, out, err)
    assert done.returncode == 0, done.stderr
    assert 0 < max(queued) <= WINDOW, queued  # never the whole class on the broker at once
    _same(_csv(url), local_csv)
    _once_each(url, local_csv)
    # both hosts took a share
    assert "graded a run" in workers.log(W1) and "graded a run" in workers.log(W2)
    again = _grade(*_batch(klass, url, redis_server.url))  # resume: nothing runs again
    assert again.returncode == 0 and "resuming: 26 of 26" in again.stderr.replace("\n", " "), again.stderr
    _no_secret(redis_server, postgres, done.stdout, done.stderr, workers.log(W1), workers.log(W2))


def _queue_lengths(redis_server: Redis, batch: subprocess.Popen[str]) -> list[int]:
    """How many runs waited on the broker's queue, sampled until the batch ends."""
    import redis

    from grader import judge_version
    from grader.cluster.app import queue_for

    seen = []
    with redis.Redis.from_url(redis_server.url) as client:
        while batch.poll() is None:
            seen.append(int(client.llen(queue_for(judge_version()))))
            time.sleep(0.02)
    return seen


def _wait_for(what: str, ok: object, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not ok():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_a_worker_killed_mid_run_loses_nothing(
    workers: Workers, klass: Path, local_csv: dict[str, dict[str, str]], postgres: Postgres, redis_server: Redis
) -> None:
    url = postgres.new_database()
    batch = _popen(_batch(klass, url, redis_server.url))
    running: list[str] = []

    def w1_is_running() -> bool:
        running[:] = labelled(W1)
        return bool(running)

    _wait_for("w1 to start a run", w1_is_running)
    workers.kill(W1)  # SIGKILL: no cleanup, no acknowledgement; its run waits for redelivery
    _, err = batch.communicate(timeout=600)
    assert batch.returncode == 0, err
    _same(_csv(url), local_csv)
    _once_each(url, local_csv)
    assert set(running) & set(labelled(W1)), "the killed worker's container should still be there"
    workers.start(W1)  # the host starts again: its strays are removed
    assert labelled(W1) == []
    assert "removed 0 stray" not in workers.log(W1).split(f"grade worker {W1}")[-1]
    for name in (W1, W2):
        assert "refused" not in workers.log(name)


def test_a_broker_restart_mid_batch_loses_nothing(
    workers: Workers, klass: Path, local_csv: dict[str, dict[str, str]], postgres: Postgres, redis_server: Redis
) -> None:
    url = postgres.new_database()
    batch = _popen(_batch(klass, url, redis_server.url))
    _wait_for("a few results", lambda: _count(url) >= 6)
    redis_server.stop()
    time.sleep(1)
    redis_server.start()  # an empty broker: the queue and the results not yet collected are gone
    _, err = batch.communicate(timeout=600)
    assert batch.returncode == 0, err
    assert "the broker restarted" in err or "lost the broker" in err
    _same(_csv(url), local_csv)
    _once_each(url, local_csv)


def test_a_store_outage_stops_the_batch_in_one_line_and_a_rerun_finishes(
    workers: Workers, klass: Path, local_csv: dict[str, dict[str, str]], postgres: Postgres, redis_server: Redis
) -> None:
    url = postgres.new_database()
    batch = _popen(_batch(klass, url, redis_server.url))
    _wait_for("a few results", lambda: _count(url) >= 4)
    postgres.stop()
    try:
        out, err = batch.communicate(timeout=300)
    finally:
        postgres.start()
    assert batch.returncode == 2, err
    last = err.strip().splitlines()[-1]
    assert "cannot write results to" in last and "what was stored so far is kept" in last and "Traceback" not in err
    _no_secret(redis_server, postgres, out, err)
    kept = _count(url)
    assert kept >= 4  # what was stored before the outage is there
    again = _grade(*_batch(klass, url, redis_server.url))
    assert again.returncode == 0, again.stderr
    assert f"resuming: {kept} of 26" in again.stderr.replace("\n", " "), again.stderr
    _same(_csv(url), local_csv)
    _once_each(url, local_csv)


def _other_judge(tmp: Path) -> Path:
    """A copy of grade whose judge differs (a check file changed): what a worker host not yet upgraded runs."""
    shutil.copytree(ROOT / "grader", tmp / "grader", ignore=shutil.ignore_patterns("__pycache__"))
    with (tmp / "grader" / "checks.py").open("a") as f:
        f.write("\n# a check changed on this host\n")
    return tmp


def test_a_batch_refuses_workers_of_another_judge_and_they_never_take_its_runs(
    workers: Workers, klass: Path, postgres: Postgres, redis_server: Redis, tmp_path: Path
) -> None:
    other = redis_server.url.rsplit("/", 1)[0] + "/3"  # a broker of its own: only the other judge's worker
    workers.start(OLD, broker=other, pythonpath=_other_judge(tmp_path))
    try:
        url = postgres.new_database()
        done = _grade(*_batch(klass, url, other))
        assert done.returncode == 2
        line = done.stderr.strip().splitlines()[-1]
        assert "no worker grades with this judge" in line and "never mix two judges" in line, done.stderr
        assert "graded a run" not in workers.log(OLD)
        with psycopg.connect(url) as db:
            assert db.execute("SELECT count(*) FROM results WHERE status <> 'missing'").fetchone() == (0,)
    finally:
        workers.stop(OLD)


def test_a_pickled_task_is_refused_not_run(workers: Workers, redis_server: Redis, tmp_path: Path) -> None:
    """Whoever reaches the broker must not get code execution on a worker: a pickle is never loaded."""
    from celery import Celery

    from grader import judge_version
    from grader.cluster.app import TASK, queue_for

    marker = tmp_path / "pwned"
    evil = Celery("evil", broker=redis_server.url, set_as_current=False)
    evil.conf.update(task_serializer="pickle", accept_content=["pickle", "json"])
    evil.send_task(TASK, args=[_Touch(str(marker))], queue=queue_for(judge_version()), serializer="pickle")
    time.sleep(3)
    assert not marker.exists()
    logs = workers.log(W1) + workers.log(W2)
    assert "Refusing to deserialize untrusted content of type pickle" in logs


class _Touch:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.path}",))


def test_ctrl_c_stops_the_cluster_batch_and_the_same_command_resumes(
    workers: Workers, klass: Path, local_csv: dict[str, dict[str, str]], postgres: Postgres, redis_server: Redis
) -> None:
    url = postgres.new_database()
    batch = subprocess.Popen(
        [sys.executable, "-m", "grader", *_batch(klass, url, redis_server.url)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        preexec_fn=ctrl_c_as_at_a_terminal,
    )
    _wait_for("a few results", lambda: _count(url) >= 5)
    batch.send_signal(signal.SIGINT)
    _, err = batch.communicate(timeout=120)
    assert batch.returncode == 130, err
    assert "interrupted: the workers drop its queued runs" in err.replace("\n", " ") and "Traceback" not in err
    kept = _count(url)
    again = _grade(*_batch(klass, url, redis_server.url))
    assert again.returncode == 0, again.stderr
    assert f"resuming: {kept} of 26" in again.stderr.replace("\n", " "), again.stderr
    _same(_csv(url), local_csv)
    _once_each(url, local_csv)


def test_tls_by_url_end_to_end(workers: Workers, tls_redis: TlsRedis, tmp_path: Path) -> None:
    """rediss:// with the CA named in the URL: a worker and a batch talk TLS only (the server has no plain
    port); without the CA the certificate is not trusted and both stop in one line."""
    workers.start(TLS, broker=tls_redis.url)
    try:
        for i in range(2):
            (tmp_path / "class" / f"s{i}").mkdir(parents=True)
            (tmp_path / "class" / f"s{i}" / "ex1.py").write_bytes((ROOT / "solutions" / "ex1_fork.py").read_bytes())
        db = tmp_path / "g.sqlite"
        done = _grade("batch", str(tmp_path / "class"), "--db", str(db), "-e", "ex1", "--broker", tls_redis.url)
        assert done.returncode == 0, done.stderr
        assert float(_csv(str(db))["s1"]["ex1_fork"]) == resolve("ex1").max_score
        assert "graded a run" in workers.log(TLS)
        untrusted = tls_redis.url.split("?")[0]
        refused = _grade("batch", str(tmp_path / "class"), "--db", str(db), "--broker", untrusted)
        assert refused.returncode == 2 and "certificate" in refused.stderr, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1 and tls_redis.password not in refused.stderr
    finally:
        workers.stop(TLS)
