"""The store's one interface on both backends: SQLite and a real PostgreSQL, started for the session.

The export tests of test_exports.py run again here on a PostgreSQL store (pytest collects an imported test
function in this module, with this module's `store` fixture)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from grader.errors import StoreError
from grader.store import BaseStore, Store, open_existing, open_store
from grader.store_postgres import PostgresStore

from .test_exports import STATUSES, _row
from .test_exports import test_canvas_header_rules as test_pg_canvas_header_rules  # noqa: F401
from .test_exports import test_cli_export_feedback_report as test_pg_cli_export_feedback_report  # noqa: F401
from .test_exports import test_csv as test_pg_csv  # noqa: F401
from .test_exports import test_feedback_markdown as test_pg_feedback_markdown  # noqa: F401
from .test_exports import test_json_has_everything as test_pg_json_has_everything  # noqa: F401
from .test_store import row

if TYPE_CHECKING:
    from .servers import Postgres

pytest_plugins = ["tests.servers"]  # the session's Redis and PostgreSQL servers, as fixtures


@pytest.fixture()
def store(postgres: Postgres) -> Iterator[PostgresStore]:
    """test_exports' class, in a PostgreSQL store."""
    s = PostgresStore(postgres.new_database())
    for student, status in STATUSES.items():
        for ex in ("ex1_fork", "ex2_process"):
            s.put(_row(student, ex, status))
    yield s
    s.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BaseStore]:
    if request.param == "sqlite":
        s: BaseStore = Store(tmp_path / "g.sqlite")
    else:
        s = PostgresStore(request.getfixturevalue("postgres").new_database())
    yield s
    s.close()


def test_put_done_rows_mark_on_both(empty: BaseStore) -> None:
    assert empty.done("s1", "ex1_fork", "a" * 64, "0.1.0") is None
    empty.put(row(sha="a" * 64, status="failed", graded_at=1_790_000_000.123))
    empty.put(row(sha="b" * 64, status="passed"))
    got = empty.done("s1", "ex1_fork", "a" * 64, "0.1.0")
    assert got is not None and got.status == "failed" and got.infra is False
    assert got.graded_at == 1_790_000_000.123  # a full double: PostgreSQL's REAL would have lost minutes
    assert [(r.sha256[0], r.status) for r in empty.rows()] == [("b", "passed")]
    empty.mark("s1", "ex1_fork", "a" * 64, "0.1.0")
    assert [(r.sha256[0], r.status) for r in empty.rows()] == [("a", "failed")]
    empty.put(row(sha="c" * 64, status="error", infra=True))
    assert empty.done("s1", "ex1_fork", "c" * 64, "0.1.0") is None  # an infrastructure failure is not done


def test_a_task_delivered_twice_is_stored_once_and_a_regrade_counts(empty: BaseStore) -> None:
    """Redelivery (a worker lost mid-run, a broker restart) hands the same task to a second worker: its
    result must not count as a second run, nor replace the first; a regrade (another task) does both."""
    empty.put(row(task="t1", status="passed"))
    empty.put(row(task="t1", status="failed", graded_at=2000.0))
    (only,) = list(empty.all_results())
    assert (only.status, only.runs, only.task) == ("passed", 1, "t1")
    empty.put(row(task="t2", status="failed"))
    (only,) = list(empty.all_results())
    assert (only.status, only.runs, only.task) == ("failed", 2, "t2")
    empty.put(row(task=None, status="passed"))  # a local batch's put: always a run
    assert next(iter(empty.all_results())).runs == 3


def test_open_store_picks_the_backend_by_url(postgres: Postgres, tmp_path: Path) -> None:
    for target, kind in ((tmp_path / "x.sqlite", Store), (postgres.new_database(), PostgresStore)):
        opened = open_store(target)
        assert isinstance(opened, kind)
        opened.close()
    with pytest.raises(StoreError, match="holds no results yet"):
        open_existing(postgres.new_database())


def test_a_store_of_format_1_is_migrated_and_keeps_its_rows(tmp_path: Path) -> None:
    """A newer grader reads an older store: format 1 had no task column."""
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "INSERT INTO meta VALUES ('format', '1');"
        "CREATE TABLE results (student TEXT NOT NULL, exercise TEXT NOT NULL, sha256 TEXT NOT NULL,"
        " grader_version TEXT NOT NULL, status TEXT NOT NULL, score REAL NOT NULL, max_score REAL NOT NULL,"
        " reason TEXT, infra INTEGER NOT NULL DEFAULT 0, submission TEXT, rule TEXT, report TEXT,"
        " duration_s REAL NOT NULL DEFAULT 0, graded_at REAL NOT NULL, runs INTEGER NOT NULL DEFAULT 1,"
        " PRIMARY KEY (student, exercise, sha256, grader_version));"
        "CREATE TABLE cells (student TEXT NOT NULL, exercise TEXT NOT NULL, sha256 TEXT NOT NULL,"
        " grader_version TEXT NOT NULL, PRIMARY KEY (student, exercise));"
        "INSERT INTO results VALUES ('s1','ex1_fork','aa','0.1.0','passed',10,10,NULL,0,'s1/ex1.py','flat','{}',"
        " 0.5, 1000, 1);"
        "INSERT INTO cells VALUES ('s1','ex1_fork','aa','0.1.0');"
    )
    db.commit()
    db.close()
    store = Store(path)
    assert [(r.student, r.status, r.task) for r in store.rows()] == [("s1", "passed", None)]
    store.put(row(student="s2", task="t9"))
    assert {r.student: r.task for r in store.rows()} == {"s1": None, "s2": "t9"}
    assert sqlite3.connect(path).execute("SELECT value FROM meta WHERE key='format'").fetchone() == ("2",)


def test_a_newer_format_is_refused_on_postgres(postgres: Postgres) -> None:
    url = postgres.new_database()
    PostgresStore(url).close()
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        db.execute("UPDATE meta SET value='99' WHERE key='format'")
    with pytest.raises(StoreError, match="another version of grade") as info:
        PostgresStore(url)
    assert postgres.password not in str(info.value)


def test_errors_name_the_store_without_its_password(postgres: Postgres, tmp_path: Path) -> None:
    wrong = postgres.url().replace(postgres.password, "not-" + postgres.password)
    with pytest.raises(StoreError) as info:
        PostgresStore(wrong)
    text = str(info.value)
    assert "cannot reach the store" in text and postgres.password not in text and "***" in text
    assert "\n" not in text
    done = subprocess.run(
        [sys.executable, "-m", "grader", "export", "--db", wrong], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr and postgres.password not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_a_write_to_a_stopped_server_is_retried_then_one_line(postgres: Postgres) -> None:
    store = PostgresStore(postgres.new_database())
    store.put(row(student="kept"))
    postgres.stop()
    try:
        with pytest.raises(StoreError, match="after 3 attempts.*what was stored so far is kept") as info:
            store.put(row(student="lost"))
        assert postgres.password not in str(info.value) and "\n" not in str(info.value)
    finally:
        postgres.start()
    store.put(row(student="after"))  # reconnects once the server is back
    assert [r.student for r in store.rows()] == ["after", "kept"]
    store.close()


def test_sqlite_errors_unchanged(tmp_path: Path) -> None:
    store = Store(tmp_path / "g.sqlite")
    store.put(replace(row(), task="t"))
    assert store.where == str(tmp_path / "g.sqlite")
    store.close()


@pytest.mark.parametrize(
    "name",
    ["test_infrastructure_failures_are_retried_then_recorded", "test_a_changed_judge_regrades_what_the_old_one_graded"],
)
def test_the_local_batch_on_postgres(
    name: str, postgres: Postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """test_batch's store-facing tests (retries recorded then retried on resume, a new judge regrades), with
    the store they open swapped for a PostgreSQL one."""
    from . import test_batch

    opened: list[PostgresStore] = []

    def on_postgres(path: Path) -> PostgresStore:
        opened.append(PostgresStore(postgres.new_database()))
        return opened[-1]

    monkeypatch.setattr(test_batch, "Store", on_postgres)
    getattr(test_batch, name)(tmp_path, monkeypatch)
    assert opened and all(s.rows() for s in opened)
    for s in opened:
        s.close()


def test_tls_by_url_with_sslmode(postgres: Postgres) -> None:
    """sslmode= and sslrootcert= in the URL: the store's connection is encrypted and the server verified;
    a CA the URL does not name is refused in one line, without the password."""
    url = postgres.new_database() + f"?sslmode=verify-full&sslrootcert={postgres.folder / 'ca.pem'}"
    store = PostgresStore(url)
    assert store._execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone() == (True,)
    store.close()
    unknown_ca = url.split("?")[0] + "?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem"
    with pytest.raises(StoreError, match="cannot reach the store") as info:
        PostgresStore(unknown_ca)
    assert "\n" not in str(info.value) and postgres.password not in str(info.value)
