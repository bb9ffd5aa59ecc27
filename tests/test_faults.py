"""Faults that are the grader's, not the student's: `grade ci` exits 2 on them and keeps every other report, a
batch stores them and goes on; a source over the size limit is the student's, refused before it is read."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

import grader.batch
import grader.ci
import grader.cli
from grader.batch import discover, run_batch
from grader.catalog import resolve
from grader.ci import exit_code, grade_course, grade_one
from grader.errors import GraderError, ImageError
from grader.grading import grade
from grader.report import Report
from grader.sandbox.base import RunOutcome, RunRequest
from grader.settings import Settings
from grader.store import Store
from grader.submission import precheck

from .conftest import ROOT
from .outcomes import load

SETTINGS = Settings(timeout_s=8, grace_s=0.3, start_margin_s=10)
PRINTS = b"print('hello')\n"
REFERENCE = (ROOT / "solutions" / "ex1_fork.py").read_bytes()
COMPLAINT = b"strace: attach: ptrace(PTRACE_SEIZE, 12): Operation not permitted\n"


class Recorded:
    """Our sandbox interface, answering each program with an outcome recorded from a real run."""

    name = "fake"

    def __init__(self, answers: dict[bytes, Callable[[], RunOutcome]]) -> None:
        self.answers, self.runs = answers, 0
        self.lock = threading.Lock()

    def run(self, request: RunRequest) -> RunOutcome:
        with self.lock:
            self.runs += 1
        return self.answers[request.source]()


def _course(tmp_path: Path, sources: dict[str, bytes]) -> Path:
    for ex, source in sources.items():
        folder = tmp_path / "course" / "exercises" / resolve(ex).id
        folder.mkdir(parents=True)
        (folder / "solution.py").write_bytes(source)
    return tmp_path / "course"


GRADER_FAULTS: dict[str, tuple[str, Callable[[], RunOutcome]]] = {
    "engine lost": ("ex1", lambda: load("ex1_reference", infra_error="the Docker engine failed during the run: 500")),
    "no result": ("ex1", lambda: load("ex1_reference", infra_error="the sandbox ended without a result")),
    "tracer": ("ex1", lambda: load("ex1_reference", tracer_stderr=COMPLAINT.decode())),
    "dns": ("ex4", lambda: load("ex4_reference", dns_error="dnsmasq: failed to bind 127.0.0.1:53")),
}
STUDENT_ERRORS: dict[str, Callable[[], RunOutcome]] = {
    "flood": lambda: load("ex1_reference", kill_reason="output-limit", stdout_bytes=9 << 20),
    "memory": lambda: load("ex1_reference", oom_killed=True),
    "untraced": lambda: load("ex1_reference", untraced=[4242]),
}


@pytest.mark.parametrize("fault", list(GRADER_FAULTS))
def test_ci_exits_2_on_a_grader_fault_and_keeps_the_other_reports(tmp_path: Path, fault: str) -> None:
    exercise, outcome = GRADER_FAULTS[fault]
    broken = b"# the broken one\n" + REFERENCE
    sources = {exercise: broken, "ex1" if exercise != "ex1" else "ex2": REFERENCE}
    answers = {broken: outcome, REFERENCE: lambda: load("ex1_reference")}
    course = _course(tmp_path, sources)
    chosen = [resolve(e) for e in sorted(sources)]
    reports = grade_course(course, chosen, sandbox=Recorded(answers), settings=SETTINGS)
    by_ex = {r.exercise: r for r in reports}
    bad = by_ex[resolve(exercise).id]
    assert bad.status == "error" and bad.fault == "grader" and bad.score == 0, bad.reason
    assert exit_code(reports) == 2 and exit_code(reports, min_score=0) == 2  # never a publishable 0
    assert len(reports) == 2 and all(r.fault is None for r in reports if r is not bad)


@pytest.mark.parametrize("error", list(STUDENT_ERRORS))
def test_a_students_own_error_stays_theirs(tmp_path: Path, error: str) -> None:
    course = _course(tmp_path, {"ex1": REFERENCE})
    reports = grade_course(
        course, [resolve("ex1")], sandbox=Recorded({REFERENCE: STUDENT_ERRORS[error]}), settings=SETTINGS
    )
    assert reports[0].status == "error" and reports[0].fault is None and exit_code(reports) == 1


def test_a_sandbox_that_cannot_run_is_the_graders_error_in_ci(tmp_path: Path) -> None:
    class NoImage:
        name = "fake"

        def run(self, request: RunRequest) -> RunOutcome:
            raise ImageError("image grade-runtime:x is missing — build it with `grade image build`")

    course = _course(tmp_path, {"ex1": REFERENCE})
    (report,) = grade_course(course, [resolve("ex1")], sandbox=NoImage(), settings=SETTINGS)
    assert (
        report.status == "error"
        and report.fault == "grader"
        and "image grade-runtime:x is missing" in (report.reason or "")
    )


# --- a check that raises, in-process and in a real `grade batch` / `grade ci` -------------------------------

HOOK = """
import dataclasses, os
spec = os.environ.get("GRADE_TEST_RAISING_CHECK")
if spec:
    import grader.catalog as catalog
    ex_id, check_id = spec.split(":")
    found = catalog.registry

    def _boom(check):
        def judge(run):
            if b"BOOM" in run.outcome.stdout:
                raise KeyError("a grader bug")
            return check.fn(run)
        return dataclasses.replace(check, fn=judge)

    def registry():
        return {
            k: dataclasses.replace(e, checks=tuple(_boom(c) if c.id == check_id else c for c in e.checks))
            if k == ex_id else e
            for k, e in found().items()
        }

    catalog.registry = registry
"""


def _hooked(tmp_path: Path, ex_id: str, check_id: str) -> dict[str, str]:
    """An environment whose `grade` has `check_id` raise for programs that print BOOM (a sitecustomize hook:
    the grader itself carries no test switch)."""
    hook = tmp_path / "hook"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(HOOK)
    path = os.pathsep.join([str(hook), os.environ.get("PYTHONPATH", str(ROOT))])
    return {
        **os.environ,
        "PYTHONPATH": path,
        "GRADE_TEST_RAISING_CHECK": f"{ex_id}:{check_id}",
        "GRADE_TIMEOUT_S": "8",
        "GRADE_GRACE_S": "0.3",
        "GRADE_START_MARGIN_S": "10",
    }


def test_a_raising_check_in_a_batch_keeps_every_other_cell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ex = resolve("ex1")
    check = ex.checks[0]

    def boom(run: object) -> object:
        raise KeyError("a grader bug")

    monkeypatch.setattr(type(check), "judge", lambda self, run: boom(run) if self.id == check.id else self.fn(run))
    for name, source in {"alice": REFERENCE, "bob": PRINTS, "carol": b"def broken(:\n"}.items():
        (tmp_path / "class" / name).mkdir(parents=True)
        (tmp_path / "class" / name / "ex1.py").write_bytes(source)
    store = Store(tmp_path / "g.sqlite")
    sandbox = Recorded({REFERENCE: lambda: load("ex1_reference"), PRINTS: lambda: load("ex1_print")})
    summary = run_batch(discover(tmp_path / "class", [ex]), store=store, sandbox=sandbox, settings=SETTINGS, jobs=2)
    rows = {r.student: r for r in store.rows()}
    assert set(rows) == {"alice", "bob", "carol"}
    for student in ("alice", "bob"):
        assert rows[student].status == "error" and rows[student].infra, rows[student]
        assert f"check {check.id} failed (KeyError" in (rows[student].reason or "")
    assert rows["carol"].status == "failed" and not rows["carol"].infra  # a syntax error stays the student's
    assert sorted(r.student for r in summary.infra) == ["alice", "bob"]


def test_a_cell_the_grader_fails_on_is_stored_and_the_batch_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any exception while grading one cell (here: in grade_cell itself) is that cell's `error`."""
    real = grader.batch.grade_cell

    def flaky(cell, *args):  # type: ignore[no-untyped-def]
        if cell.student == "bob":
            raise RecursionError("maximum recursion depth exceeded")
        return real(cell, *args)

    monkeypatch.setattr(grader.batch, "grade_cell", flaky)
    for name in ("alice", "bob"):
        (tmp_path / "class" / name).mkdir(parents=True)
        (tmp_path / "class" / name / "ex1.py").write_bytes(PRINTS)
    store = Store(tmp_path / "g.sqlite")
    cells = discover(tmp_path / "class", [resolve("ex1")])
    sandbox = Recorded({PRINTS: lambda: load("ex1_print")})
    for _ in ("first", "rerun"):
        run_batch(cells, store=store, sandbox=sandbox, settings=SETTINGS, jobs=2)
        rows = {r.student: r for r in store.rows()}
        assert rows["alice"].status == "failed" and not rows["alice"].infra
        assert rows["bob"].status == "error" and rows["bob"].infra and "RecursionError" in (rows["bob"].reason or "")


@pytest.mark.docker
def test_grade_batch_with_a_raising_check_stores_every_cell_and_exits_1(tmp_path: Path) -> None:
    ex = resolve("ex1")
    env = _hooked(tmp_path, ex.id, ex.checks[0].id)
    for name, source in {"alice": REFERENCE, "bob": b"print('BOOM')\n", "carol": PRINTS}.items():
        (tmp_path / "class" / name).mkdir(parents=True)
        (tmp_path / "class" / name / "ex1.py").write_bytes(source)
    db = tmp_path / "g.sqlite"
    cmd = [sys.executable, "-m", "grader", "batch", str(tmp_path / "class"), "--db", str(db), "-e", "ex1", "-j", "2"]
    for _ in ("first", "rerun"):
        res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert res.returncode == 1, res.stderr  # infrastructure errors remain: 1, never a crash (3)
        assert "Traceback" not in res.stderr and "infrastructure error" in res.stderr
        with sqlite3.connect(db) as c:
            rows = dict(c.execute("SELECT student, status || ':' || infra FROM results").fetchall())
        assert rows == {"alice": "passed:0", "bob": "error:1", "carol": "failed:0"}, res.stderr


@pytest.mark.docker
def test_grade_ci_with_a_raising_check_exits_2_and_writes_every_report(tmp_path: Path) -> None:
    ex2 = resolve("ex2")
    env = _hooked(tmp_path, ex2.id, ex2.checks[0].id)
    env.pop("GITHUB_ACTIONS", None)
    course = _course(tmp_path, {"ex1": REFERENCE, "ex2": b"print('BOOM')\n"})
    cmd = [sys.executable, "-m", "grader", "ci", "--junit", "out/j.xml", "--sandbox", "docker"]
    res = subprocess.run(cmd, cwd=course, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 2, res.stderr
    faults = [ln for ln in res.stderr.splitlines() if "infrastructure error" in ln]
    assert len(faults) == 1 and ex2.id in faults[0] and "not the submission's fault" in faults[0], res.stderr
    junit = (course / "out" / "j.xml").read_text()  # the folder did not exist: created, not a crash
    assert 'name="ex1_fork"' in junit and 'name="ex2_process"' in junit
    assert "ex1_fork         passed" in res.stderr


@pytest.mark.docker
def test_grade_ci_with_a_missing_image_exits_2_in_one_line(tmp_path: Path) -> None:
    course = _course(tmp_path, {"ex1": REFERENCE})
    env = {**os.environ, "GRADE_IMAGE": "grade-no-such-image:missing"}
    env.pop("GITHUB_ACTIONS", None)
    res = subprocess.run(
        [sys.executable, "-m", "grader", "ci", "--sandbox", "docker"],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert "grade-no-such-image:missing is missing" in res.stderr and "infrastructure error" in res.stderr


# --- outputs checked before grading ----------------------------------------------------------------------------


def _run_ci(course: Path, monkeypatch: pytest.MonkeyPatch, **kw: object) -> int:
    from grader.commands.ci import run_ci

    sandbox = Recorded({REFERENCE: lambda: load("ex1_reference")})
    monkeypatch.setattr(grader.cli, "make_sandbox", lambda settings, **_: sandbox)
    monkeypatch.chdir(course)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    args: dict[str, object] = {
        "exercises": ["ex1"],
        "junit": None,
        "gradescope": None,
        "classroom": False,
        "tap": False,
        "github": False,
        "min_score": None,
        "sandbox": None,
        "jobs": 1,
        "timeout": None,
    }
    return run_ci(**{**args, **kw})  # type: ignore[arg-type]


def test_junit_into_a_missing_folder_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    course = _course(tmp_path, {"ex1": REFERENCE})
    assert _run_ci(course, monkeypatch, junit=Path("new/deeper/j.xml")) == 0
    assert "<testsuite" in (course / "new" / "deeper" / "j.xml").read_text()


def test_an_output_that_cannot_be_written_stops_before_grading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    course = _course(tmp_path, {"ex1": REFERENCE})
    (course / "afile").write_text("x")
    graded: list[int] = []
    monkeypatch.setattr(grader.ci, "grade_one", lambda *a, **k: graded.append(1))
    for option, path in (("junit", Path("afile/j.xml")), ("gradescope", course)):
        with pytest.raises(GraderError, match=rf"cannot write --{option} .* — p"):
            _run_ci(course, monkeypatch, **{option: path})
        assert not graded
    assert (course / "afile").read_text() == "x"


# --- the source size limit -----------------------------------------------------------------------------------

BIG = b"x = 1\n" * (5_000_000 // 6)  # 5 MB of valid Python


def test_a_5mb_source_is_refused_before_it_is_decoded_or_compiled() -> None:
    tracemalloc.start()
    try:
        problem = precheck(BIG, "big.py", max_bytes=SETTINGS.source_bytes)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert problem is not None and "over the limit of 262,144 bytes (256 KiB)" in problem
    assert peak < 1 << 20  # nothing was decoded nor compiled (that took 2.1 GB)


def test_a_5mb_source_is_the_students_failed_report_in_every_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = Recorded({})  # any run would raise KeyError: nothing may reach the sandbox
    ex = resolve("ex1")
    alone = grade(ex, BIG, sandbox=sandbox, settings=SETTINGS, name="big.py")
    course = _course(tmp_path, {"ex1": BIG})
    in_ci = grade_one(ex, course, sandbox=sandbox, settings=SETTINGS)
    (tmp_path / "class" / "alice").mkdir(parents=True)
    shutil.copy(course / "exercises" / ex.id / "solution.py", tmp_path / "class" / "alice" / "ex1.py")
    store = Store(tmp_path / "g.sqlite")
    run_batch(discover(tmp_path / "class", [ex]), store=store, sandbox=sandbox, settings=SETTINGS, jobs=1)
    (row,) = store.rows()
    stored = Report.model_validate_json(row.report or "")
    for report in (alone, in_ci, stored):
        assert report.status == "failed" and report.fault is None and report.score == 0
        assert "over the limit of 262,144 bytes" in (report.reason or "")
    assert not row.infra and sandbox.runs == 0
    # the limit is a setting
    small = grade(ex, PRINTS * 200, sandbox=sandbox, settings=SETTINGS.model_copy(update={"source_bytes": 1024}))
    assert small.status == "failed" and "over the limit of 1,024 bytes" in (small.reason or "")


@pytest.mark.docker
def test_a_raised_source_limit_holds_in_submit_and_in_the_docker_sandbox(tmp_path: Path) -> None:
    """GRADE_SOURCE_BYTES is the one limit: grade submit and the Docker sandbox both read it (the sandbox
    had its own 256 KiB and refused a raised limit as a usage error)."""
    path = tmp_path / "big.py"
    path.write_bytes((ROOT / "solutions" / "ex1_fork.py").read_bytes() + b"#" * 300_000 + b"\n")
    env = {**os.environ, "GRADE_SOURCE_BYTES": "1000000"}
    cmd = [sys.executable, "-m", "grader", "submit", "ex1", "--file", str(path), "--format", "json"]
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-500:]
    assert json.loads(res.stdout)["score"] == 10
