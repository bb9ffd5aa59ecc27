"""The SQLite store: one row per (student, exercise, hash, version), resume lookups, damaged files."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from grader.errors import StoreError
from grader.store import Row, Store, open_existing


def row(
    student: str = "s1", exercise: str = "ex1_fork", sha: str = "a" * 64, status: str = "passed", **kw: object
) -> Row:
    base = Row(
        student,
        exercise,
        sha,
        "0.1.0",
        status,
        10.0 if status == "passed" else 0.0,
        10.0,
        None,
        False,
        f"{student}/ex1.py",
        "flat",
        '{"checks": []}',
        0.5,
        1000.0,
        1,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def test_put_then_done_and_rows(tmp_path: Path) -> None:
    store = Store(tmp_path / "g.sqlite")
    assert store.done("s1", "ex1_fork", "a" * 64, "0.1.0") is None
    store.put(row())
    got = store.done("s1", "ex1_fork", "a" * 64, "0.1.0")
    assert got is not None and got.status == "passed" and got.runs == 1
    assert store.done("s1", "ex1_fork", "a" * 64, "0.2.0") is None  # a new grader version grades again
    assert [r.student for r in store.rows()] == ["s1"]


def test_wal_mode_and_committed_at_once(tmp_path: Path) -> None:
    path = tmp_path / "g.sqlite"
    store = Store(path)
    store.put(row())
    # another connection (a crashed grader's successor) sees the row without any close or commit call
    other = sqlite3.connect(path)
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert other.execute("SELECT count(*) FROM results").fetchone()[0] == 1


def test_regrading_the_same_file_updates_its_row_and_counts_runs(tmp_path: Path) -> None:
    store = Store(tmp_path / "g.sqlite")
    store.put(row())
    store.put(row(status="failed", graded_at=2000.0))
    rows = list(store.all_results())
    assert len(rows) == 1 and rows[0].runs == 2 and rows[0].status == "failed" and rows[0].graded_at == 2000.0


def test_a_changed_file_is_a_new_row_and_the_current_one_is_shown(tmp_path: Path) -> None:
    store = Store(tmp_path / "g.sqlite")
    store.put(row(sha="a" * 64, status="failed"))
    store.put(row(sha="b" * 64, status="passed"))
    assert len(list(store.all_results())) == 2
    assert [(r.sha256[0], r.status) for r in store.rows()] == [("b", "passed")]
    store.mark("s1", "ex1_fork", "a" * 64, "0.1.0")  # the student went back to the old file
    assert [(r.sha256[0], r.status) for r in store.rows()] == [("a", "failed")]


def test_infrastructure_errors_are_not_done(tmp_path: Path) -> None:
    store = Store(tmp_path / "g.sqlite")
    store.put(row(status="error", infra=True, reason="engine down"))
    assert store.done("s1", "ex1_fork", "a" * 64, "0.1.0") is None


def test_damaged_file_is_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "grades.sqlite"
    bad.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError) as info:
        Store(bad)
    message = str(info.value)
    assert str(bad) in message and "move" in message and "\n" not in message


def test_folder_and_missing_and_empty(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a folder"):
        Store(tmp_path)
    with pytest.raises(StoreError, match="no grade database"):
        open_existing(tmp_path / "none.sqlite")
    Store(tmp_path / "empty.sqlite").close()
    with pytest.raises(StoreError, match="no results yet"):
        open_existing(tmp_path / "empty.sqlite")


def test_other_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "g.sqlite"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value='99' WHERE key='format'")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="another version"):
        Store(path)
