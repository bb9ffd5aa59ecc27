"""The runs' own Docker engine client (grader/sandbox/engine.py): its framing, its addresses, its errors, and the
container it creates, read back from a real engine."""

from __future__ import annotations

import socket
import struct
import threading
from pathlib import Path

import pytest

from grader.sandbox.engine import Address, Engine, EngineError, EngineGone, NotFound, demultiplex
from grader.settings import Settings


def frame(stream: int, data: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + struct.pack(">I", len(data)) + data


def test_log_frames_are_joined_in_the_order_they_were_written() -> None:
    payload = frame(1, b"out 1\n") + frame(2, b"err\n") + frame(1, b"") + frame(1, b"out 2\n")
    assert demultiplex(payload) == b"out 1\nerr\nout 2\n"


def test_bytes_that_are_not_frames_are_kept() -> None:
    assert demultiplex(b"plain text, no frames\n") == b"plain text, no frames\n"
    assert demultiplex(frame(1, b"ok\n") + b"\x09junk") == b"ok\n\x09junk"


def test_a_frame_cut_short_keeps_what_arrived() -> None:
    assert demultiplex(frame(1, b"abcdef")[:-2]) == b"abcd"


def test_addresses_are_read_as_the_docker_cli_reads_them() -> None:
    assert Address.from_env({}).socket_path == "/var/run/docker.sock"
    assert Address.from_env({"DOCKER_HOST": "unix:///tmp/d.sock"}).socket_path == "/tmp/d.sock"
    tcp = Address.from_env({"DOCKER_HOST": "tcp://10.0.0.5:2375"})
    assert (tcp.host, tcp.port, tcp.tls) == ("10.0.0.5", 2375, None)
    with pytest.raises(EngineGone, match="ssh://"):
        Address.from_env({"DOCKER_HOST": "ssh://me@host"})


def test_tls_takes_the_clients_certificates_from_docker_cert_path(tmp_path: Path) -> None:
    (tmp_path / "cert.pem").write_text("")
    with pytest.raises(EngineGone, match="ca.pem, key.pem"):  # asked for, but missing: never plain text instead
        Address.from_env({"DOCKER_HOST": "tcp://h:2376", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(tmp_path)})
    address = Address.from_env({"DOCKER_HOST": "tcp://h", "DOCKER_CERT_PATH": str(tmp_path / "none")})
    assert address.tls is None and address.port == 2375


class OneAnswer:
    """A unix-socket server that answers every request with one canned HTTP response (or hangs up)."""

    def __init__(self, path: Path, response: bytes) -> None:
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen(4)
        self.response = response
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            conn.recv(65536)
            if self.response:
                conn.sendall(self.response)
            conn.close()


def http(status: str, body: bytes) -> bytes:
    return f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body


def test_engine_errors_carry_the_engines_message(tmp_path: Path) -> None:
    sock = tmp_path / "e.sock"
    OneAnswer(sock, http("404 Not Found", b'{"message":"No such container: abc"}'))
    engine = Engine(Address(socket_path=str(sock)))
    with pytest.raises(NotFound, match="No such container: abc"):
        engine.inspect("abc")
    assert not engine.image_exists("grade-runtime:x")


def test_a_server_error_is_an_engine_error_not_a_not_found(tmp_path: Path) -> None:
    sock = tmp_path / "e.sock"
    OneAnswer(sock, http("500 Internal Server Error", b"boom"))
    with pytest.raises(EngineError) as caught:
        Engine(Address(socket_path=str(sock))).start("abc")
    assert caught.value.status == 500 and not isinstance(caught.value, NotFound)


def test_an_engine_that_hangs_up_is_gone(tmp_path: Path) -> None:
    sock = tmp_path / "e.sock"
    OneAnswer(sock, b"")
    with pytest.raises(EngineGone, match=str(sock)):
        Engine(Address(socket_path=str(sock))).start("abc")


@pytest.mark.docker
def test_the_created_container_holds_every_limit(settings: Settings) -> None:
    """Read back from the engine: what the run asked for is what the container got."""
    from grader.sandbox.base import RunRequest
    from grader.sandbox.docker import DockerSandbox, destroy

    box = DockerSandbox(settings)
    cid = box._create(RunRequest(source=b"print(1)\n", settings=settings, dns=False), 61117)
    try:
        info = box.engine.inspect(cid)
    finally:
        assert destroy(box.engine, cid)
    host = info["HostConfig"]
    assert host["NetworkMode"] == "none" and host["ReadonlyRootfs"] is True
    assert host["PidsLimit"] == settings.pids and host["Memory"] == settings.memory_mb << 20
    assert host["MemorySwap"] == host["Memory"] and host["NanoCpus"] == int(settings.cpus * 1e9)
    assert host["CapDrop"] == ["ALL"] and sorted(host["CapAdd"]) == ["SETGID", "SETUID"]
    assert "no-new-privileges" in host["SecurityOpt"]
    assert any(opt.startswith("seccomp=") and len(opt) > 1000 for opt in host["SecurityOpt"])
    assert set(host["Tmpfs"]) == {"/tmp", "/run/grade", "/submission"}
    assert host["Ulimits"] == [{"Name": "core", "Soft": 0, "Hard": 0}]
    assert info["Config"]["Hostname"] == "grade" and info["Config"]["User"] == "root"
