"""The SQLite store of batch results: one row per (student, exercise, content hash, grader version)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from grader.errors import StoreError

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    student TEXT NOT NULL, exercise TEXT NOT NULL, sha256 TEXT NOT NULL, grader_version TEXT NOT NULL,
    status TEXT NOT NULL, score REAL NOT NULL, max_score REAL NOT NULL, reason TEXT,
    infra INTEGER NOT NULL DEFAULT 0, submission TEXT, rule TEXT, report TEXT,
    duration_s REAL NOT NULL DEFAULT 0, graded_at REAL NOT NULL, runs INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (student, exercise, sha256, grader_version)
);
-- what each student's folder held at the last batch: the rows the exports and reports show
CREATE TABLE IF NOT EXISTS cells (
    student TEXT NOT NULL, exercise TEXT NOT NULL, sha256 TEXT NOT NULL, grader_version TEXT NOT NULL,
    PRIMARY KEY (student, exercise)
);
"""
FORMAT = "1"


@dataclass(frozen=True)
class Row:
    student: str
    exercise: str
    sha256: str
    grader_version: str
    status: str  # passed | failed | error | timeout | missing
    score: float
    max_score: float
    reason: str | None
    infra: bool
    submission: str | None
    rule: str | None
    report: str | None  # the full JSON report (None for a missing file)
    duration_s: float
    graded_at: float
    runs: int


COLUMNS = ", ".join(Row.__dataclass_fields__)


class Store:
    """Written only from the batch's main thread; every put is committed at once (a crash loses nothing done)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        fix = f"move {path} aside (or delete it) and run again, or pass another --db"
        if path.is_dir():
            raise StoreError(f"{path} is a folder, not a database file — pass a file with --db")
        try:
            self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
            found = self.db.execute("SELECT value FROM meta WHERE key='format'").fetchone()
            if found is None:
                self.db.execute("INSERT INTO meta VALUES ('format', ?)", (FORMAT,))
            elif found[0] != FORMAT:
                raise StoreError(f"{path} was written by another version of grade (format {found[0]}) — {fix}")
            self.db.execute("SELECT count(*) FROM results").fetchone()
        except sqlite3.DatabaseError as err:
            raise StoreError(f"{path} is not a usable grade database ({err}) — {fix}") from err

    def close(self) -> None:
        self.db.close()

    def done(self, student: str, exercise: str, sha256: str, version: str) -> Row | None:
        """The stored result for exactly this file and grader, unless it was an infrastructure failure."""
        cur = self.db.execute(
            f"SELECT {COLUMNS} FROM results "
            "WHERE student=? AND exercise=? AND sha256=? AND grader_version=? AND infra=0",
            (student, exercise, sha256, version),
        )
        found = cur.fetchone()
        return _row(found) if found else None

    def mark(self, student: str, exercise: str, sha256: str, version: str) -> None:
        """Record which file is current for a cell (also for cells resumed without running)."""
        self.db.execute("INSERT OR REPLACE INTO cells VALUES (?, ?, ?, ?)", (student, exercise, sha256, version))

    def put(self, row: Row) -> None:
        try:
            self._put(row)
        except sqlite3.Error as err:
            raise StoreError(
                f"cannot write results to {self.path} ({err}) — free disk space or close what holds the file, then "
                "run the same command again: what was stored so far is kept"
            ) from err

    def _put(self, row: Row) -> None:
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute(
                f"INSERT INTO results ({COLUMNS}) VALUES ({', '.join('?' * len(Row.__dataclass_fields__))}) "
                "ON CONFLICT (student, exercise, sha256, grader_version) DO UPDATE SET status=excluded.status, "
                "score=excluded.score, max_score=excluded.max_score, reason=excluded.reason, infra=excluded.infra, "
                "submission=excluded.submission, rule=excluded.rule, report=excluded.report, "
                "duration_s=excluded.duration_s, graded_at=excluded.graded_at, runs=results.runs + 1",
                (
                    row.student,
                    row.exercise,
                    row.sha256,
                    row.grader_version,
                    row.status,
                    row.score,
                    row.max_score,
                    row.reason,
                    int(row.infra),
                    row.submission,
                    row.rule,
                    row.report,
                    row.duration_s,
                    row.graded_at,
                    row.runs,
                ),
            )
            self.db.execute(
                "INSERT OR REPLACE INTO cells VALUES (?, ?, ?, ?)",
                (row.student, row.exercise, row.sha256, row.grader_version),
            )

    def rows(self) -> list[Row]:
        """The current result of every cell, ordered by student then exercise."""
        try:
            cur = self.db.execute(
                f"SELECT {', '.join('r.' + c for c in Row.__dataclass_fields__)} FROM cells c JOIN results r "
                "USING (student, exercise, sha256, grader_version) ORDER BY r.student, r.exercise"
            )
            return [_row(r) for r in cur.fetchall()]
        except sqlite3.DatabaseError as err:
            raise StoreError(f"cannot read {self.path}: {err} — move it aside and grade again") from err

    def all_results(self) -> Iterator[Row]:
        yield from (_row(r) for r in self.db.execute(f"SELECT {COLUMNS} FROM results"))


def _row(values: tuple[object, ...]) -> Row:
    row = Row(*values)  # type: ignore[arg-type]
    return replace(row, infra=bool(row.infra))


def open_existing(path: Path) -> Store:
    """A store that must already hold results (exports and reports)."""
    if not path.is_file():
        raise StoreError(f"no grade database at {path} — run `grade batch SUBMISSIONS --db {path}` first")
    store = Store(path)
    if not store.rows():
        raise StoreError(f"{path} holds no results yet — run `grade batch SUBMISSIONS --db {path}` first")
    return store


def now() -> float:
    return time.time()
