"""Batch grading: a generated class against lone runs, resume after SIGINT, infrastructure failures."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import grader.batch
from grader.batch import discover, run_batch
from grader.catalog import registry, resolve
from grader.errors import StoreError
from grader.grading import grade
from grader.report import Report
from grader.sandbox.base import RunOutcome, RunRequest
from grader.settings import Settings
from grader.store import Store

from .class_factory import make_class
from .conftest import ROOT, SUBMISSIONS, ctrl_c_as_at_a_terminal
from .outcomes import load

# the class's settings, for `grade batch` (through the environment) and for the lone runs alike
ENV = {"GRADE_TIMEOUT_S": "8", "GRADE_GRACE_S": "0.3", "GRADE_START_MARGIN_S": "10"}
CLASS_SETTINGS = Settings(timeout_s=8, grace_s=0.3, start_margin_s=10)


def _batch(root: Path, db: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "grader", "batch", str(root), "--db", str(db), "--jobs", "4", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **ENV},
        preexec_fn=ctrl_c_as_at_a_terminal,
    )


def _table(db: Path) -> dict[tuple[str, str], tuple[str, float]]:
    with sqlite3.connect(db) as c:
        rows = c.execute(
            "SELECT r.student, r.exercise, r.status, r.score FROM cells JOIN results r "
            "USING (student, exercise, sha256, grader_version)"
        ).fetchall()
    return {(s, e): (st, sc) for s, e, st, sc in rows}


def _reports(db: Path) -> dict[tuple[str, str], Report]:
    with sqlite3.connect(db) as c:
        rows = c.execute(
            "SELECT r.student, r.exercise, r.report FROM cells JOIN results r "
            "USING (student, exercise, sha256, grader_version) WHERE r.report IS NOT NULL"
        ).fetchall()
    return {(s, e): Report.model_validate_json(text) for s, e, text in rows}


def _stamps(db: Path) -> dict[tuple[str, str], tuple[float, int]]:
    with sqlite3.connect(db) as c:
        rows = c.execute("SELECT student, exercise, graded_at, runs FROM results").fetchall()
    return {(s, e): (t, n) for s, e, t, n in rows}


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:  # type: ignore[type-arg]
    root = tmp_path_factory.mktemp("class")
    planned = make_class(root)
    db = root.parent / "full.sqlite"
    proc = _batch(root, db)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    return root, db, planned


@pytest.mark.docker
def test_every_cell_matches_a_lone_run(graded_class, sandbox) -> None:  # type: ignore[no-untyped-def]
    root, db, planned = graded_class
    table = _table(db)
    assert set(table) == set(planned) and len(planned) >= 12 * 5
    for key, p in planned.items():
        if p.path is None:
            assert table[key] == ("missing", 0.0)
    # each distinct file once, graded alone by grade() with the same settings
    unique = {(p.exercise, p.path.read_bytes()): p for p in planned.values() if p.path is not None}

    def alone(item: tuple[str, bytes]) -> Report:
        return grade(resolve(item[0]), item[1], sandbox=sandbox, settings=CLASS_SETTINGS, name="solution.py")

    with ThreadPoolExecutor(3) as pool:
        expected = dict(zip(unique, pool.map(alone, unique), strict=True))
    reports = _reports(db)
    for key, p in planned.items():
        if p.path is None:
            continue
        lone = expected[(p.exercise, p.path.read_bytes())]
        if p.kind == "wrong":
            # a wrong program may be wrong by a race (Pool(5) with random sleeps reuses a worker, or runs five
            # tasks at once, only some of the time): same verdict, and the check it is written for fails both times
            meant = p.path.name.split("__")[1] if p.path.name.startswith("fail__") else None
            assert table[key][0] == lone.status, (key, p.path.name, lone.reason)
            for report in (reports[key], lone):
                failed = {c.id for c in report.checks if not c.passed}
                assert meant is None or meant in failed, (key, p.path.name, failed)
        else:
            saw = [(c.id, c.message) for c in reports[key].checks if not c.passed] if key in reports else None
            assert table[key] == (lone.status, lone.score), (key, p.kind, p.path.name, lone.reason, saw)
    statuses = {v[0] for v in table.values()}
    assert {"passed", "failed", "timeout", "error", "missing"} <= statuses  # the class exercised every outcome


@pytest.mark.docker
def test_sigint_then_resume_gives_the_same_table(graded_class, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root, full_db, _ = graded_class
    db = tmp_path / "resumed.sqlite"
    proc = _batch(root, db)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # interrupt once a few runs are stored and others are in flight
        time.sleep(0.3)
        if db.exists():
            try:
                with sqlite3.connect(db) as c:
                    if c.execute("SELECT count(*) FROM results WHERE status != 'missing'").fetchone()[0] >= 6:
                        break
            except sqlite3.OperationalError:  # the batch has created the file but not its table yet
                continue
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "resume" in err
    before = _stamps(db)
    assert 6 <= sum(1 for k in before) < len(_table(full_db))

    proc = _batch(root, db)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert f"{len(before)} of" in err  # "resuming: N of M cells already graded"
    after = _stamps(db)
    assert {k: after[k] for k in before} == before  # finished cells were not run again
    assert all(n == 1 for _, n in after.values())
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT count(*) FROM results").fetchone()[0] == len(_table(full_db))  # no duplicates
    assert {k: v[0] for k, v in _table(db).items()} == {k: v[0] for k, v in _table(full_db).items()}


@pytest.mark.docker
def test_regrade_runs_again(graded_class, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root, full_db, _ = graded_class
    db = tmp_path / "g.sqlite"
    db.write_bytes(full_db.read_bytes())
    proc = _batch(root, db, "--exercise", "ex1")
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0 and "resuming" in err
    assert _stamps(db) == _stamps(full_db)
    proc = _batch(root, db, "--exercise", "ex1", "--regrade")
    proc.communicate(timeout=300)
    runs = {k: n for k, (_, n) in _stamps(db).items()}
    assert all(n == (2 if k[1] == "ex1_fork" else 1) for k, n in runs.items())


class FlakySandbox:
    """Our sandbox interface, failing the way an engine does: a raised error or an infra outcome."""

    name = "fake"

    def __init__(self, fail: dict[bytes, int]) -> None:
        self.fail, self.calls = fail, {}  # type: ignore[var-annotated]
        self.lock = threading.Lock()

    def run(self, request: RunRequest) -> RunOutcome:
        with self.lock:
            n = self.calls[request.source] = self.calls.get(request.source, 0) + 1
        if n <= self.fail.get(request.source, 0):
            if n % 2:
                raise ConnectionError("engine not answering")
            return RunOutcome(infra_error="could not create the container: 500 Server Error")
        return load("ex1_print")  # a run that ended (recorded from a real one): the checks judge it


def test_infrastructure_failures_are_retried_then_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(grader.batch, "BACKOFF_S", 0.01)
    ex = resolve("ex1")
    for name, body in {"flaky": "print(1)\n", "dead": "print(2)\n", "fine": "print(3)\n"}.items():
        (tmp_path / "class" / name).mkdir(parents=True)
        (tmp_path / "class" / name / "ex1.py").write_text(body)
    sandbox = FlakySandbox({b"print(1)\n": 2, b"print(2)\n": 99})
    store = Store(tmp_path / "g.sqlite")
    retries: list[tuple[str, int]] = []

    class Obs(grader.batch.NullObserver):
        def retrying(self, cell, attempt, cause) -> None:  # type: ignore[no-untyped-def]
            retries.append((cell.student, attempt))

    cells = discover(tmp_path / "class", [ex])
    summary = run_batch(cells, store=store, sandbox=sandbox, settings=Settings(), jobs=2, observer=Obs())
    rows = {r.student: r for r in store.rows()}
    assert sandbox.calls[b"print(2)\n"] == grader.batch.RETRIES + 1  # bounded
    assert (
        rows["dead"].status == "error"
        and rows["dead"].infra
        and "infrastructure failure" in (rows["dead"].reason or "")
    )
    assert not rows["flaky"].infra and not rows["fine"].infra  # recovered on the third attempt
    assert [r.student for r in summary.infra] == ["dead"]
    assert sorted(retries) == [("dead", 1), ("dead", 2), ("flaky", 1), ("flaky", 2)]
    # a resumed batch tries infrastructure failures again, not the rest
    summary = run_batch(cells, store=store, sandbox=FlakySandbox({}), settings=Settings(), jobs=2)
    assert summary.skipped == 2 and not summary.infra
    assert {r.student: r.infra for r in store.rows()} == {"dead": False, "flaky": False, "fine": False}


def test_a_database_that_stops_taking_writes_stops_the_batch(tmp_path: Path) -> None:
    """A full disk (or a locked file) mid-batch: one clear error, nothing more runs, what was stored stays."""

    class FillsUp(Store):
        def _put(self, row) -> None:  # type: ignore[no-untyped-def]
            if self.db.execute("SELECT count(*) FROM results").fetchone()[0] >= 1:
                raise sqlite3.OperationalError("database or disk is full")
            super()._put(row)

    for i in range(6):
        (tmp_path / "class" / f"s{i}").mkdir(parents=True)
        (tmp_path / "class" / f"s{i}" / "ex1.py").write_text(f"print({i})\n")

    class Slow(FlakySandbox):
        def run(self, request: RunRequest) -> RunOutcome:
            time.sleep(0.2)  # a run takes a while, as a real one does
            return super().run(request)

    sandbox = Slow({})
    store = FillsUp(tmp_path / "g.sqlite")
    cells = discover(tmp_path / "class", [resolve("ex1")])
    t0 = time.monotonic()
    with pytest.raises(StoreError, match=r"cannot write results to .*disk is full.* what was stored so far is kept"):
        run_batch(cells, store=store, sandbox=sandbox, settings=Settings(), jobs=1)
    # only the run under way is waited for (cancelled queued runs once held this up for start_margin_s)
    assert time.monotonic() - t0 < Settings().start_margin_s / 2
    assert sum(sandbox.calls.values()) < len(cells)  # the batch stopped instead of running on for nothing
    assert [r.student for r in store.rows()] == ["s0"]  # the result stored before the failure is intact


def test_a_changed_judge_regrades_what_the_old_one_graded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Results are keyed by the judge's digest, not only the release: a fixed check under the same release
    number must not leave the old verdicts in place on resume."""
    for name in ("a", "b"):
        (tmp_path / "class" / name).mkdir(parents=True)
        (tmp_path / "class" / name / "ex1.py").write_text(f"print({name!r})\n")
    cells = discover(tmp_path / "class", [resolve("ex1")])
    store = Store(tmp_path / "g.sqlite")
    first = run_batch(cells, store=store, sandbox=FlakySandbox({}), settings=Settings(), jobs=2)
    again = run_batch(cells, store=store, sandbox=FlakySandbox({}), settings=Settings(), jobs=2)
    assert (first.skipped, again.skipped) == (0, 2)
    monkeypatch.setattr(grader, "judge_version", lambda: "0.1.0+another")  # a new engine regrades everything
    sandbox = FlakySandbox({})
    changed = run_batch(cells, store=store, sandbox=sandbox, settings=Settings(), jobs=2)
    assert changed.skipped == 0 and sum(sandbox.calls.values()) == 2
    assert {r.grader_version for r in store.rows()} == {f"0.1.0+another.{resolve('ex1').digest}"}


def test_the_judge_digest_follows_the_checks_not_the_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    import grader as package

    copy = tmp_path / "grader"
    shutil.copytree(Path(package.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))

    def digest() -> str:
        monkeypatch.setattr(package, "_HERE", copy)
        package.judge_version.cache_clear()
        try:
            return package.judge_version()
        finally:
            package.judge_version.cache_clear()

    base = digest()
    (copy / "reports" / "text.py").write_text((copy / "reports" / "text.py").read_text() + "\n# reworded\n")
    assert digest() == base  # how a report looks decides no verdict
    (copy / "checks.py").write_text((copy / "checks.py").read_text() + "\n# a fixed check\n")
    assert digest() != base


def test_default_jobs_is_sane() -> None:
    assert 2 <= grader.batch.default_jobs() <= 16
    assert len(registry()) >= 1


@pytest.mark.docker
def test_batch_takes_the_lms_download_zip_as_it_came(tmp_path: Path) -> None:
    """A flat Canvas download, zipped as Canvas hands it out: graded, named by the zip, and resumed."""
    import zipfile

    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(ROOT / "solutions" / "ex1_fork.py", "doealice_11_101_ex1.py")
        z.write(SUBMISSIONS / "ex1_fork" / "fail__one_child__two_children.py", "roebob_12_102_ex1_fork.py")
    db = tmp_path / "grades.sqlite"
    for _ in ("graded", "resumed"):
        proc = _batch(archive, db, "--exercise", "ex1")
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert "resuming: 2 of 2 cells already graded" in err
    assert {k: v[0] for k, v in _table(db).items()} == {
        ("doealice", "ex1_fork"): "passed",
        ("roebob", "ex1_fork"): "failed",
    }
    with sqlite3.connect(db) as c:
        shown = sorted(r[0] for r in c.execute("SELECT submission FROM results"))
    assert shown == [f"{archive}!doealice_11_101_ex1.py", f"{archive}!roebob_12_102_ex1_fork.py"]


@pytest.mark.docker
def test_a_folder_name_that_is_not_utf8_is_graded_stored_and_exported(tmp_path: Path) -> None:
    """What `unzip` leaves for an LMS zip made in another encoding: a name with byte 0xE9. It once crashed the
    store; now the student's id is a stable printable form of the bytes, and every export reads it."""
    root = tmp_path / "class"
    root.mkdir()
    latin = os.path.join(os.fsencode(root), b"Ren\xe9 Dupr\xe9")
    os.mkdir(latin)
    with open(os.path.join(latin, b"ex1.py"), "wb") as f:
        f.write((ROOT / "solutions" / "ex1_fork.py").read_bytes())
    os.mkdir(os.path.join(os.fsencode(root), b"Zo\xeb"))
    with open(os.path.join(os.fsencode(root), b"Zo\xeb", b"ex1_fork.py"), "wb") as f:
        f.write(b"def broken(:\n")
    db = tmp_path / "g.sqlite"
    for _ in ("graded", "resumed"):
        proc = _batch(root, db, "--exercise", "ex1")
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    assert "resuming: 2 of 2" in err  # the id is stable from one run to the next
    assert _table(db) == {
        ("Ren\\xe9 Dupr\\xe9", "ex1_fork"): ("passed", 10.0),
        ("Zo\\xeb", "ex1_fork"): ("failed", 0.0),
    }
    with sqlite3.connect(db) as c:
        shown = dict(c.execute("SELECT student, submission FROM results").fetchall())
    assert shown["Zo\\xeb"].endswith("/Zo\\xeb/ex1_fork.py")
    base = [sys.executable, "-m", "grader"]
    for args in (["export", "--format", "csv"], ["export", "--format", "json"], ["export", "--format", "moodle"]):
        res = subprocess.run([*base, *args, "--db", str(db)], capture_output=True, text=True, timeout=60)
        text = json.dumps(json.loads(res.stdout)) if "json" in args else res.stdout
        assert res.returncode == 0 and "Ren\\xe9 Dupr\\xe9" in text.replace("\\\\", "\\"), res.stderr
    res = subprocess.run(
        [*base, "feedback", "--db", str(db), "--out", str(tmp_path / "fb")], capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 0 and len(list((tmp_path / "fb").iterdir())) == 2, res.stderr
    res = subprocess.run([*base, "report", "--db", str(db)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
