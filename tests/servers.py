"""Real Redis and PostgreSQL servers for the cluster and store tests: each started by the test session on a
free loopback port, with a password (so tests can look for it in what was printed), and stopped after.

PostgreSQL refuses to run as root: its throwaway cluster is made with initdb and run by pg_ctl as the
postgres user, in a folder of its own under /tmp (pytest's folders are closed to other users)."""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PG_BIN = Path("/usr/lib/postgresql")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_tool(name: str) -> str:
    found = shutil.which(name) or next((str(p) for p in sorted(PG_BIN.glob(f"*/bin/{name}"), reverse=True)), None)
    if found is None:
        pytest.fail(f"{name} not found: install postgresql (bash .ci/setup.sh does)")
    return found


def _as_postgres(*cmd: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else list(cmd)


@dataclass
class Postgres:
    folder: Path
    port: int
    password: str
    user: str = "grade"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            _as_postgres(_pg_tool("pg_ctl"), "-D", str(self.folder / "data"), "-l", str(self.folder / "log"), *args),
            check=True,
            capture_output=True,
            timeout=120,
            cwd=self.folder,  # the postgres user may not enter the test's own working folder
        )

    def start(self) -> None:
        options = (
            # fsync off: nothing here must outlive the machine; commits stay synchronous, so a server stopped
            # the hard way (as the fault tests do) keeps every acknowledged write, as a production one does
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off "
            # TLS offered (not required): sslmode= in a store URL is tested against a CA of the test's own
            f"-c ssl=on -c ssl_cert_file={self.folder / 'server.pem'} -c ssl_key_file={self.folder / 'server.key'}"
        )
        self._ctl("-w", "-o", options, "start")

    def stop(self) -> None:
        self._ctl("-w", "-m", "immediate", "stop")

    def new_database(self) -> str:
        """A fresh database's URL, so each test starts from an empty store."""
        import psycopg

        name = "t" + secrets.token_hex(6)
        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(f"CREATE DATABASE {name}")
        return self.url(name)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    folder = Path(tempfile.mkdtemp(prefix="grade-pg-"))
    pg = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
    password = secrets.token_hex(12)
    (folder / "pw").write_text(password)
    if pg is not None:
        os.chown(folder, pg.pw_uid, pg.pw_gid)
    _certificates(folder)
    if pg is not None:
        for name in ("pw", "server.pem", "server.key"):
            os.chown(folder / name, pg.pw_uid, pg.pw_gid)
    server = Postgres(folder, free_port(), password)
    init = [_pg_tool("initdb"), "-D", str(folder / "data"), "-U", "grade", "-A", "scram-sha-256"]
    subprocess.run(
        _as_postgres(*init, f"--pwfile={folder / 'pw'}"), check=True, capture_output=True, timeout=120, cwd=folder
    )
    server.start()
    try:
        yield server
    finally:
        subprocess.run(
            _as_postgres(_pg_tool("pg_ctl"), "-D", str(folder / "data"), "-m", "immediate", "stop"),
            capture_output=True,
            timeout=60,
            cwd=folder,
        )
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Redis:
    port: int
    password: str
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def start(self) -> None:
        server = shutil.which("redis-server")
        if server is None:
            pytest.fail("redis-server not found: install it (bash .ci/setup.sh does)")
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(
            [server, *args, "--requirepass", self.password, "--loglevel", "warning"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        pytest.fail("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        self.proc = None


@pytest.fixture(scope="session")
def redis_server() -> Iterator[Redis]:
    server = Redis(free_port(), secrets.token_hex(12))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class TlsRedis(Redis):
    """Redis speaking only TLS, with a certificate of a CA of the test's own (made with openssl)."""

    folder: Path = Path()

    @property
    def url(self) -> str:
        return f"rediss://:{self.password}@127.0.0.1:{self.port}/0?ssl_ca_certs={self.folder / 'ca.pem'}"

    def start(self) -> None:
        server = shutil.which("redis-server")
        if server is None:
            pytest.fail("redis-server not found: install it (bash .ci/setup.sh does)")
        f = self.folder
        tls = ["--port", "0", "--tls-port", str(self.port), "--tls-auth-clients", "no"]
        tls += ["--tls-cert-file", str(f / "server.pem"), "--tls-key-file", str(f / "server.key")]
        tls += ["--tls-ca-cert-file", str(f / "ca.pem")]
        self.proc = subprocess.Popen(
            [server, *tls, "--bind", "127.0.0.1", "--save", "", "--requirepass", self.password],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        pytest.fail("redis-server (TLS) did not start")


def _certificates(folder: Path) -> None:
    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=60)

    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=grade test CA",
    )
    (folder / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"
    )
    openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "san.cnf",
    )


@pytest.fixture(scope="session")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsRedis]:
    folder = tmp_path_factory.mktemp("tls")
    _certificates(folder)
    server = TlsRedis(free_port(), secrets.token_hex(12), folder=folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()
