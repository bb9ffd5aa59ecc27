"""The PostgreSQL backend of the store, for a cluster: the coordinator writes here, exports read from here.

psycopg 3 rather than SQLAlchemy: the store is a handful of statements that both backends share word for word
(only the placeholder differs), so an ORM or a query builder would add a layer and a dependency for nothing;
psycopg is PostgreSQL's own maintained driver, takes the libpq URL as it is (sslmode=, sslrootcert= and the
rest work unchanged) and ships wheels. It is an extra (`pip install grade-autograder[cluster]`): a grader on
one machine never imports it."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from grader.errors import StoreError
from grader.store import BaseStore, Row, _one_line
from grader.urls import redact

ATTEMPTS = 3  # a write that fails is tried again on a new connection this many times in all
BACKOFF_S = 1.0
CONNECT_TIMEOUT_S = 10


def _driver() -> Any:
    try:
        import psycopg
    except ImportError:
        raise StoreError(
            "a postgresql:// store needs psycopg — install the cluster extra: pip install 'grade-autograder[cluster]'"
        ) from None
    return psycopg


class PostgresStore(BaseStore):
    """One connection, in autocommit mode except inside a put's transaction; reconnects when the server went
    away (a restart, a fail-over), and stops with one line when it stays away."""

    real = "DOUBLE PRECISION"  # PostgreSQL's REAL is 4 bytes: a timestamp would lose minutes

    def __init__(self, url: str) -> None:
        self.psycopg = _driver()
        self.errors = (self.psycopg.Error,)
        self.path = url  # as given, for tools that reopen the store; never printed
        self.where = redact(url)
        self.db = self._connect()
        try:
            self._create()
        except (self.psycopg.Error, StoreError) as err:
            self.db.close()
            if isinstance(err, StoreError):
                raise
            raise StoreError(f"{self.where} is not a usable grade database ({_one_line(err)}) — {self._fix()}") from err

    def _fix(self) -> str:
        return "check the URL and that the user may create tables in that database, or pass another --db"

    def _open(self) -> Any:
        return self.psycopg.connect(
            self.path, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S, application_name="grade"
        )

    def _connect(self) -> Any:
        try:
            return self._open()
        except self.psycopg.Error as err:
            raise StoreError(
                f"cannot reach the store at {self.where} ({_one_line(err)}) — is PostgreSQL running, and are the "
                "URL's host, port, user and password right?"
            ) from None

    def _execute(self, sql: str, params: Sequence[object] = ()) -> Any:
        return self.db.execute(sql.replace("?", "%s"), params)

    def _transaction(self) -> AbstractContextManager[Any]:
        return self.db.transaction()  # type: ignore[no-any-return]

    def _lock(self) -> None:
        self._execute("SELECT pg_advisory_xact_lock(7310013)")  # any fixed number: grade's schema lock

    def close(self) -> None:
        self.db.close()

    def put(self, row: Row) -> None:
        """Stored once, or StoreError after ATTEMPTS tries on fresh connections (what was stored stays)."""
        for attempt in range(ATTEMPTS):
            try:
                self._put(row)
                return
            except self.psycopg.Error as err:
                if attempt + 1 == ATTEMPTS:
                    raise StoreError(self._write_failed(err)) from None
            time.sleep(BACKOFF_S * 2**attempt)
            self._reconnect()

    def _reconnect(self) -> None:
        self.db.close()
        # when the server is still away, the next attempt fails on the closed connection and says why
        with contextlib.suppress(self.psycopg.Error):
            self.db = self._open()

    def _write_failed(self, err: Exception) -> str:
        return (
            f"cannot write results to {self.where} after {ATTEMPTS} attempts ({_one_line(err)}) — bring PostgreSQL "
            "back (or check the network to it), then run the same command again: what was stored so far is kept"
        )
