"""An engine reached over TLS (DOCKER_HOST=tcp://, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH), as a remote Docker host
is: a real TLS endpoint with its own CA that asks for the client's certificate, in front of this machine's
engine. A run goes through it end to end; a client without the CA's certificate is refused, in one line."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.catalog import resolve
from grader.grading import grade
from grader.sandbox.docker import DockerSandbox
from grader.sandbox.engine import Address, Engine, EngineGone
from grader.settings import Settings

from .conftest import ROOT

pytestmark = pytest.mark.docker


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _certificates(folder: Path, name: str) -> None:
    """A CA (ca.pem), a server certificate for 127.0.0.1 and a client certificate (cert.pem, key.pem)."""
    folder.mkdir()
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name} CA",
             "-keyout", "ca-key.pem", "-out", "ca.pem", cwd=folder)  # fmt: skip
    for who, ext in (("server", "subjectAltName=IP:127.0.0.1"), ("client", "extendedKeyUsage=clientAuth")):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={who}", "-keyout", f"{who}-key.pem",
                 "-out", f"{who}.csr", cwd=folder)  # fmt: skip
        (folder / f"{who}.ext").write_text(ext + "\n")
        _openssl("x509", "-req", "-in", f"{who}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
                 "-days", "2", "-extfile", f"{who}.ext", "-out", f"{who}.pem", cwd=folder)  # fmt: skip
    shutil.copy(folder / "client.pem", folder / "cert.pem")
    shutil.copy(folder / "client-key.pem", folder / "key.pem")


def _pump(src: socket.socket, dst: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := src.recv(65536):
            dst.sendall(data)
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)


def _serve(listener: socket.socket, context: ssl.SSLContext) -> None:
    """Each TLS connection, its client certificate verified, joined to the engine's unix socket."""
    while True:
        try:
            raw, _ = listener.accept()
        except OSError:
            return
        try:
            tls = context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()  # a client the CA did not sign: refused
            continue
        threading.Thread(target=_join, args=(tls,), daemon=True).start()


def _join(tls: socket.socket) -> None:
    """Both directions between a client and the engine, until both have closed; then both sockets closed."""
    with tls, socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as engine:
        engine.connect("/var/run/docker.sock")
        back = threading.Thread(target=_pump, args=(engine, tls), daemon=True)
        back.start()
        _pump(tls, engine)
        back.join()


@pytest.fixture(scope="module")
def tls_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path, Path]]:
    """(port, the client's cert folder, a folder of another CA's client) of a TLS endpoint to the engine."""
    base = tmp_path_factory.mktemp("tls")
    _certificates(base / "ours", "grade test")
    _certificates(base / "theirs", "another")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(base / "ours" / "server.pem", base / "ours" / "server-key.pem")
    context.load_verify_locations(base / "ours" / "ca.pem")
    context.verify_mode = ssl.CERT_REQUIRED
    listener = socket.create_server(("127.0.0.1", 0))
    threading.Thread(target=_serve, args=(listener, context), daemon=True).start()
    yield listener.getsockname()[1], base / "ours", base / "theirs"
    listener.close()


def _env(port: int, certs: Path) -> dict[str, str]:
    return {"DOCKER_HOST": f"tcp://127.0.0.1:{port}", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(certs)}


def test_a_run_goes_through_an_engine_reached_over_tls(tls_engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    port, ours, _ = tls_engine
    for name, value in _env(port, ours).items():
        monkeypatch.setenv(name, value)
    engine = Engine()
    assert (
        engine.address.tls is not None
        and engine.negotiate() == Engine(Address(socket_path="/var/run/docker.sock")).negotiate()
    )
    settings = Settings(timeout_s=8, grace_s=0.3, start_margin_s=10)
    report = grade(resolve("ex1"), (ROOT / "solutions" / "ex1_fork.py").read_bytes(),
                   sandbox=DockerSandbox(settings), settings=settings)  # fmt: skip
    assert report.status == "passed", report.reason


def test_a_client_of_another_ca_is_refused_in_one_line(tls_engine) -> None:  # type: ignore[no-untyped-def]
    port, _, theirs = tls_engine
    with pytest.raises(EngineGone) as refused:
        Engine(Address.from_env(_env(port, theirs))).negotiate(timeout=5)
    assert f"tcp://127.0.0.1:{port}" in str(refused.value) and "\n" not in str(refused.value)


def test_the_submit_command_reaches_an_engine_over_tls(tls_engine) -> None:  # type: ignore[no-untyped-def]
    """What a student runs against a remote engine: the early start and the CLI both use the TLS address."""
    port, ours, _ = tls_engine
    done = subprocess.run(
        ["python3", "-m", "grader", "submit", "ex1", "-f", str(ROOT / "solutions" / "ex1_fork.py"), "--format", "json"],
        capture_output=True, text=True, timeout=120, env={**os.environ, **_env(port, ours)}, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and '"status": "passed"' in done.stdout, done.stderr[-2000:]
