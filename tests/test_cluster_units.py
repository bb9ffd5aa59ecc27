"""The cluster's pieces without servers: URL redaction, TLS by URL, the task's checks, results of another judge."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from grader import judge_version
from grader.batch import Cell
from grader.catalog import resolve
from grader.cluster.app import tls_options
from grader.cluster.remote import result_row, task_id
from grader.cluster.worker import LIMITS, grade_task, task_payload
from grader.layouts import Found
from grader.settings import Settings
from grader.urls import redact

from .conftest import ROOT

if TYPE_CHECKING:
    from .servers import Redis

pytest_plugins = ["tests.servers"]  # the session's Redis server, as a fixture


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:s3cret@host:6379/0", "redis://:***@host:6379/0"),
        (
            "rediss://user:s3cret@host:6380/1?ssl_cert_reqs=required",
            "rediss://user:***@host:6380/1?ssl_cert_reqs=required",
        ),
        (
            "postgresql://grade:s3cret@db.example:5432/grades?sslmode=verify-full",
            "postgresql://grade:***@db.example:5432/grades?sslmode=verify-full",
        ),
        (
            "postgresql://grade@db/grades?password=s3cret&sslmode=require",
            "postgresql://grade@db/grades?password=***&sslmode=require",
        ),
        ("redis://host:6379/0", "redis://host:6379/0"),
    ],
)
def test_urls_are_shown_without_their_password(url: str, shown: str) -> None:
    assert redact(url) == shown and "s3cret" not in redact(url)


def test_rediss_verifies_the_server_unless_the_url_says_otherwise() -> None:
    import ssl

    assert tls_options("redis://h:6379/0") is None
    assert tls_options("rediss://h:6380/0") == {"ssl_cert_reqs": ssl.CERT_REQUIRED}
    assert tls_options("rediss://h:6380/0?ssl_cert_reqs=none") is None  # the URL's own choice stands


class _NeverRuns:
    name = "docker"

    def run(self, request: object) -> object:
        raise AssertionError("a refused task reached the sandbox")


def _payload(**changes: object) -> dict[str, object]:
    source = b"print('hi')\n"
    payload = task_payload("b1", resolve("ex1"), "ex1.py", source, hashlib.sha256(source).hexdigest(), Settings())
    payload.update(changes)
    return payload


def test_a_task_cannot_choose_the_sandbox_or_the_image() -> None:
    assert {"sandbox", "image", "start_method"}.isdisjoint(LIMITS)
    assert set(_payload()["limits"]) == set(LIMITS)  # type: ignore[arg-type]
    for bad in (
        _payload(limits={"sandbox": "none"}),  # not a number: the whole task is refused
        _payload(extra="field"),
        _payload(source="not base64!"),
        _payload(sha256="0" * 64),
        _payload(judge="0.0.1+elsewhere"),
        _payload(exercise_judge=resolve("ex1").judge_version + "x"),  # same engine, other checks for ex1
        _payload(exercise="ex99_nothing"),
        "a string, not a task",
    ):
        result = grade_task(bad, _NeverRuns(), Settings())
        assert result["judge"] == judge_version() and "refused" in result and "report" not in result
    other_checks = grade_task(_payload(exercise_judge="0.1.0+x.y"), _NeverRuns(), Settings())
    assert "this worker judges ex1_fork as" in str(other_checks["refused"])


def _cell() -> Cell:
    found = Found(Path("/class/s1/ex1.py"), "flat", "named ex1")
    return Cell("s1", resolve("ex1"), found, b"print(1)\n", "ab" * 32)


def test_a_result_of_another_judge_or_a_failure_is_the_graders_error_never_a_verdict() -> None:
    from grader.batch import stored
    from grader.grading import rejected

    report = rejected(resolve("ex1"), "syntax error", name="ex1.py")
    good = {"status": "SUCCESS", "result": {"judge": judge_version(), "report": stored(report)}}
    row = result_row(_cell(), good, "t1")
    assert (row.status, row.infra, row.task) == ("failed", False, "t1")
    for meta in (
        {"status": "SUCCESS", "result": {"judge": "0.0.1+other", "report": stored(report)}},
        {"status": "SUCCESS", "result": {"judge": judge_version(), "refused": "malformed"}},
        {"status": "SUCCESS", "result": {"judge": judge_version(), "report": "{not json"}},
        {"status": "FAILURE", "result": {"exc_type": "ConnectionError", "exc_message": ["gone"]}},
    ):
        row = result_row(_cell(), meta, "t1")
        assert (row.status, row.infra) == ("error", True), meta


def test_task_ids_follow_the_file_and_the_judge() -> None:
    cell = _cell()
    assert task_id(cell, "") == task_id(cell, "")  # a re-run asks for the same task: its result is reused
    assert task_id(cell, "") != task_id(cell, "regrade-1")
    other = Cell("s1", cell.exercise, cell.found, b"print(2)\n", "cd" * 32)
    assert task_id(other, "") != task_id(cell, "")


def _grade(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "grader", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
    )


def test_worker_and_batch_refuse_a_bad_broker_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "class" / "s1").mkdir(parents=True)
    for args in (
        ["worker", "--broker", "redis://:hunter22@127.0.0.1:9/0"],
        [
            "batch",
            str(tmp_path / "class"),
            "--db",
            str(tmp_path / "g.sqlite"),
            "--broker",
            "redis://:hunter22@127.0.0.1:9/0",
        ],
        ["worker", "--broker", "amqp://guest:hunter22@127.0.0.1/"],
    ):
        done = _grade(*args)
        assert done.returncode == 2, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and "hunter22" not in done.stderr + done.stdout, done.stderr
        assert "broker" in done.stderr or "Redis URL" in done.stderr


def test_worker_refuses_to_start_without_an_engine(redis_server: Redis) -> None:
    """A reachable broker, no engine: one line naming the engine, and no worker left listening."""
    done = _grade("worker", "--broker", redis_server.url, DOCKER_HOST="unix:///nonexistent.sock")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Docker engine" in done.stderr and redis_server.password not in done.stderr + done.stdout


def test_deploy_files_keep_secrets_out_of_command_lines() -> None:
    """The compose file and the systemd unit pass URLs through the environment (GRADE_BROKER, GRADE_DB), never
    as arguments `ps` would show, and the compose file takes its passwords from deploy/.env."""
    import yaml

    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    services = compose["services"]
    assert {"redis", "postgres", "worker", "coordinator"} <= set(services)
    for name in ("worker", "coordinator"):
        assert "--broker" not in services[name]["command"] and "--db" not in services[name]["command"]
        assert services[name]["environment"]["GRADE_BROKER"].startswith("redis://:${REDIS_PASSWORD}@")
    assert services["coordinator"]["profiles"] == ["batch"]  # a one-shot, not started by `up`
    unit = (ROOT / "deploy" / "grade-worker.service").read_text()
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    assert "grade worker" in exec_start and "--broker" not in exec_start and "EnvironmentFile=" in unit


def test_the_compose_file_follows_the_compose_specification(tmp_path: Path) -> None:
    """No registry answers here, so the compose file cannot be run: it is checked against the Compose
    Specification's own schema (vendored by check-jsonschema); a broken copy is refused, so the check bites."""
    compose = ROOT / "deploy" / "compose.yaml"
    cmd = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec"]
    good = subprocess.run([*cmd, str(compose)], capture_output=True, text=True)
    assert good.returncode == 0, good.stdout + good.stderr
    broken = tmp_path / "compose.yaml"
    broken.write_text(compose.read_text().replace("    restart: unless-stopped", "    restart_policy: always", 1))
    bad = subprocess.run([*cmd, str(broken)], capture_output=True, text=True)
    assert bad.returncode == 1, bad.stdout + bad.stderr


@pytest.mark.parametrize("value", ["0", "-3", "many", "1.5"])
def test_a_bad_broker_window_is_one_line_naming_the_variable(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from grader.cluster.remote import window
    from grader.errors import GraderError

    monkeypatch.setenv("GRADE_BROKER_WINDOW", value)
    with pytest.raises(GraderError, match="GRADE_BROKER_WINDOW") as bad:
        window()
    assert "\n" not in str(bad.value)


def test_the_broker_window_defaults_to_window(monkeypatch: pytest.MonkeyPatch) -> None:
    from grader.cluster.remote import WINDOW, window

    monkeypatch.delenv("GRADE_BROKER_WINDOW", raising=False)
    assert window() == WINDOW
    monkeypatch.setenv("GRADE_BROKER_WINDOW", "7")
    assert window() == 7
