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


def test_a_flood_of_lines_does_not_make_a_huge_row(tmp_path: Path) -> None:
    """700,000 lines once made an 84 MB row: the stored report keeps its checks and capped output, and the
    process tree only while it is small."""
    from grader.batch import STORED_TREE_BYTES, stored
    from grader.report import CheckResult, Report
    from grader.tree import Line, Tree

    def report(lines: int) -> Report:
        tree = Tree(root=1, lines=[Line(pid=1, t=float(i), stream="stdout", text="x" * 40) for i in range(lines)])
        check = CheckResult(id="c", title="c", passed=True, score=1, max_score=1, message="saw it")
        return Report(
            grader_version="0",
            exercise="ex1_fork",
            status="passed",
            score=1,
            max_score=1,
            checks=[check],
            output="x" * (1 << 20),
            duration_s=0.6,
            tree=tree,
        )

    big, small = report(200_000), report(10)
    assert len(big.model_dump_json()) > 10 << 20
    kept = Report.model_validate_json(stored(big))
    assert kept.tree is None and kept.checks == big.checks and kept.output == big.output
    assert len(stored(big)) < len(big.output) + STORED_TREE_BYTES
    assert Report.model_validate_json(stored(small)).tree == small.tree  # a small tree is kept
    store = Store(tmp_path / "g.sqlite")
    store.put(row(report=stored(big)))
    assert (tmp_path / "g.sqlite").stat().st_size + (tmp_path / "g.sqlite-wal").stat().st_size < 4 << 20
