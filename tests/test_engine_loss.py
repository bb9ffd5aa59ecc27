"""The engine goes away in the middle of a run: the grader gives a verdict of `error` that says so, quickly,
and the container, left on the engine, still ends by itself at the time limit (nothing runs on)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from grader.catalog import resolve
from grader.grading import grade
from grader.sandbox.docker import LABEL, DockerSandbox
from grader.settings import Settings

pytestmark = pytest.mark.docker
ENGINE = "/var/run/docker.sock"


class SocketProxy:
    """A unix-socket relay to the real engine that a test can cut, as if dockerd died."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen(16)
        self.open: list[socket.socket] = []
        self.dead = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if self.dead:  # a blocked accept() can outlive close(): refuse what it still lets in
                client.close()
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(ENGINE)
            self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

    def cut(self) -> None:
        self.dead = True
        with contextlib.suppress(OSError):
            Path(self.path).unlink()  # new connections now fail at once, as with a stopped dockerd
        self.server.close()
        for s in list(self.open):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


@pytest.fixture
def proxy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SocketProxy]:
    relay = SocketProxy(tmp_path / "engine.sock")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{relay.path}")
    yield relay
    relay.cut()


def test_engine_lost_mid_run_is_an_error_not_a_hang(proxy: SocketProxy, sandbox: DockerSandbox) -> None:
    settings = Settings(timeout_s=4, start_margin_s=10, image=sandbox.image)
    through_proxy = DockerSandbox(settings)
    threading.Timer(1.0, proxy.cut).start()  # the run is under way: the program loops forever
    t0 = time.monotonic()
    report = grade(resolve("ex1"), b"while True:\n    pass\n", sandbox=through_proxy, settings=settings)
    took = time.monotonic() - t0
    cid = through_proxy.last_container
    assert report.status == "error" and report.score == 0
    assert report.reason is not None and "engine stopped answering" in report.reason, report.reason
    assert took < 30, took  # bounded: the clean-up retries give up, the batch or the user goes on
    # the engine itself is fine: the container, orphaned by the grader, ended by itself at its limit
    real = docker.DockerClient(base_url=f"unix://{ENGINE}")
    deadline = time.monotonic() + 30
    while True:
        try:
            state = real.api.inspect_container(cid)["State"]
        except docker.errors.NotFound:
            break  # removed after all
        if not state["Running"] or time.monotonic() > deadline:
            assert not state["Running"], "the orphaned container kept running past its limit"
            real.api.remove_container(cid, force=True, v=True)
            break
        time.sleep(0.5)
    assert not real.containers.list(all=True, filters={"label": LABEL, "id": cid})
    real.close()
