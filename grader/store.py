"""The store of batch results: one row per (student, exercise, content hash, grader version).

One interface (BaseStore: the SQL both backends share) and two backends: SQLite here, the embedded default,
and PostgreSQL (grader/store_postgres.py) for a cluster's shared store. `open_store` picks one from `--db`:
a path or a postgresql:// URL. The schema carries a format number; an older store is migrated in place, a
newer one is refused (a grader must not half-understand a store written by a later release)."""

from __future__ import annotations

import sqlite3
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

from grader.errors import StoreError
from grader.urls import is_store_url

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    student TEXT NOT NULL, exercise TEXT NOT NULL, sha256 TEXT NOT NULL, grader_version TEXT NOT NULL,
    status TEXT NOT NULL, score {real} NOT NULL, max_score {real} NOT NULL, reason TEXT,
    infra INTEGER NOT NULL DEFAULT 0, submission TEXT, rule TEXT, report TEXT,
    duration_s {real} NOT NULL DEFAULT 0, graded_at {real} NOT NULL, runs INTEGER NOT NULL DEFAULT 1,
    task TEXT,
    PRIMARY KEY (student, exercise, sha256, grader_version)
);
-- what each student's folder held at the last batch: the rows the exports and reports show
CREATE TABLE IF NOT EXISTS cells (
    student TEXT NOT NULL, exercise TEXT NOT NULL, sha256 TEXT NOT NULL, grader_version TEXT NOT NULL,
    PRIMARY KEY (student, exercise)
);
"""
FORMAT = "2"
# format -> the statements that bring a store of that format to the next one
MIGRATIONS = {"1": ["ALTER TABLE results ADD COLUMN task TEXT"]}


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
    task: str | None = None  # the cluster task that graded it: a task delivered twice is stored once


FIELDS = tuple(Row.__dataclass_fields__)
COLUMNS = ", ".join(FIELDS)
_UPSERT = (
    f"INSERT INTO results ({COLUMNS}) VALUES ({', '.join('?' * len(FIELDS))}) "
    "ON CONFLICT (student, exercise, sha256, grader_version) DO UPDATE SET status=excluded.status, "
    "score=excluded.score, max_score=excluded.max_score, reason=excluded.reason, infra=excluded.infra, "
    "submission=excluded.submission, rule=excluded.rule, report=excluded.report, "
    "duration_s=excluded.duration_s, graded_at=excluded.graded_at, runs=results.runs + 1, task=excluded.task "
    # the same task again is a redelivery, not a regrade: the first result stands
    "WHERE excluded.task IS NULL OR results.task IS NULL OR results.task <> excluded.task"
)
_MARK = (
    "INSERT INTO cells VALUES (?, ?, ?, ?) ON CONFLICT (student, exercise) "
    "DO UPDATE SET sha256=excluded.sha256, grader_version=excluded.grader_version"
)


class BaseStore(ABC):
    """What the batch, the exports and the reports ask of a store. Written from one thread at a time; every
    put is committed at once (a crash loses nothing done)."""

    where: str  # how messages name the store: a path, or a URL without its password
    real: ClassVar[str] = "REAL"  # the schema's floating-point type
    errors: tuple[type[Exception], ...] = ()  # the driver's errors, turned into StoreError

    @abstractmethod
    def _execute(self, sql: str, params: Sequence[object] = ()) -> Any:
        """A cursor over the statement's rows; `?` is the placeholder, whatever the driver's."""

    @abstractmethod
    def _transaction(self) -> AbstractContextManager[Any]:
        """Statements inside are committed together, or not at all."""

    @abstractmethod
    def close(self) -> None: ...

    def _fix(self) -> str:
        return f"move {self.where} aside (or delete it) and run again, or pass another --db"

    def _create(self) -> None:
        """The tables, and the format check or migration; in one transaction so two graders starting together
        on a new shared store do not both create it."""
        with self._transaction():
            self._lock()
            for statement in SCHEMA.format(real=self.real).split(";"):
                if statement.strip():
                    self._execute(statement)
            found = self._execute("SELECT value FROM meta WHERE key='format'").fetchone()
            if found is None:
                # a new store: its tables were just made at this format
                self._execute("INSERT INTO meta VALUES ('format', ?)", (FORMAT,))
            else:
                self._migrate(str(found[0]))
        self._execute("SELECT count(*) FROM results").fetchone()

    def _lock(self) -> None:  # noqa: B027 — a hook with nothing to do for SQLite
        """Serialise schema creation between graders (SQLite's BEGIN IMMEDIATE already does)."""

    def _migrate(self, found: str) -> None:
        while found in MIGRATIONS:
            for statement in MIGRATIONS[found]:
                self._execute(statement)
            found = str(int(found) + 1)
            self._execute("UPDATE meta SET value=? WHERE key='format'", (found,))
        if found != FORMAT:
            raise StoreError(
                f"{self.where} was written by another version of grade (format {found}, this one reads up to "
                f"{FORMAT}) — {self._fix()}"
            )

    def done(self, student: str, exercise: str, sha256: str, version: str) -> Row | None:
        """The stored result for exactly this file and grader, unless it was an infrastructure failure."""
        cur = self._execute(
            f"SELECT {COLUMNS} FROM results "
            "WHERE student=? AND exercise=? AND sha256=? AND grader_version=? AND infra=0",
            (student, exercise, sha256, version),
        )
        found = cur.fetchone()
        return _row(found) if found else None

    def mark(self, student: str, exercise: str, sha256: str, version: str) -> None:
        """Record which file is current for a cell (also for cells resumed without running)."""
        self._execute(_MARK, (student, exercise, sha256, version))

    def put(self, row: Row) -> None:
        try:
            self._put(row)
        except self.errors as err:
            raise StoreError(self._write_failed(err)) from err

    def _write_failed(self, err: Exception) -> str:
        return (
            f"cannot write results to {self.where} ({err}) — free disk space or close what holds the file, then "
            "run the same command again: what was stored so far is kept"
        )

    def _put(self, row: Row) -> None:
        with self._transaction():
            self._execute(_UPSERT, [*(getattr(row, f) for f in FIELDS[:8]), int(row.infra), *_tail(row)])
            self._execute(_MARK, (row.student, row.exercise, row.sha256, row.grader_version))

    def rows(self) -> list[Row]:
        """The current result of every cell, ordered by student then exercise."""
        try:
            cur = self._execute(
                f"SELECT {', '.join('r.' + c for c in FIELDS)} FROM cells c JOIN results r "
                "USING (student, exercise, sha256, grader_version) ORDER BY r.student, r.exercise"
            )
            return [_row(r) for r in cur.fetchall()]
        except self.errors as err:
            raise StoreError(f"cannot read {self.where}: {_one_line(err)} — move it aside and grade again") from err

    def all_results(self) -> Iterator[Row]:
        yield from (_row(r) for r in self._execute(f"SELECT {COLUMNS} FROM results").fetchall())


class Store(BaseStore):
    """The SQLite backend: one file, WAL mode, no server."""

    errors: tuple[type[Exception], ...] = (sqlite3.Error,)

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)
        if path.is_dir():
            raise StoreError(f"{path} is a folder, not a database file — pass a file with --db")
        try:
            self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self._create()
        except sqlite3.DatabaseError as err:
            raise StoreError(f"{path} is not a usable grade database ({err}) — {self._fix()}") from err

    def _execute(self, sql: str, params: Sequence[object] = ()) -> Any:
        return self.db.execute(sql, params)

    def _transaction(self) -> AbstractContextManager[Any]:
        return _SqliteTransaction(self.db)

    def close(self) -> None:
        self.db.close()


class _SqliteTransaction:
    """BEGIN IMMEDIATE: the write lock is taken at the start, so two writers wait instead of failing late."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind: object, *rest: object) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")


def _tail(row: Row) -> list[object]:
    return [getattr(row, f) for f in FIELDS[9:]]


def _row(values: Sequence[Any]) -> Row:
    row = Row(*values)
    return replace(row, infra=bool(row.infra))


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())


def open_store(target: str | Path) -> BaseStore:
    """The store `--db` names: a postgresql:// URL, or a path to an SQLite file."""
    text = str(target)
    if is_store_url(text):
        from grader.store_postgres import PostgresStore

        return PostgresStore(text)
    return Store(Path(target))


def open_existing(target: str | Path) -> BaseStore:
    """A store that must already hold results (exports and reports)."""
    text = str(target)
    if not is_store_url(text) and not Path(text).is_file():
        raise StoreError(f"no grade database at {text} — run `grade batch SUBMISSIONS --db {text}` first")
    store = open_store(target)
    if not store.rows():
        store.close()
        raise StoreError(f"{store.where} holds no results yet — run `grade batch SUBMISSIONS --db {store.where}` first")
    return store


def now() -> float:
    return time.time()
