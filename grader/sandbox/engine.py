"""The Docker engine's HTTP API for the few calls a run makes, on the standard library alone.

A run needs eight calls (ping, image, create, start, wait, logs, inspect, remove). The docker SDK and the
requests stack it stands on cost more to import than the container takes to start, on every `grade submit`;
this client costs a few milliseconds. The SDK stays for what is rare (building the image, `grade doctor`).

The engine is found as the docker SDK and CLI find it: DOCKER_HOST (unix://, tcp://; TLS from
DOCKER_TLS_VERIFY and DOCKER_CERT_PATH), else the local socket. Each call opens its own connection, so one
client serves every thread of a batch.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.sandbox.wire import WireError, exchange

if TYPE_CHECKING:
    import ssl

DEFAULT_SOCKET = "/var/run/docker.sock"
API_VERSION = "1.41"  # Docker 20.10, Debian bookworm's: every field a run sends exists there
CALL_TIMEOUT_S = 60.0


class EngineError(Exception):
    """The engine answered with an error."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message


class NotFound(EngineError):
    """404: no such container or image."""


class EngineGone(ConnectionError):
    """The engine could not be reached, or closed the connection mid-call."""


@dataclass(frozen=True)
class Address:
    """Where the engine listens: a unix socket path, or a TCP host and port (with TLS when `tls` is set)."""

    socket_path: str | None = None
    host: str = ""
    port: int = 2375
    tls: ssl.SSLContext | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Address:
        env = dict(os.environ) if env is None else env
        url = env.get("DOCKER_HOST", "") or f"unix://{DEFAULT_SOCKET}"
        parts = urllib.parse.urlsplit(url)
        if parts.scheme in {"unix", ""}:
            return cls(socket_path=parts.path or DEFAULT_SOCKET)
        if parts.scheme in {"tcp", "http", "https"}:
            tls = _tls_context(env) if env.get("DOCKER_TLS_VERIFY") or parts.scheme == "https" else None
            return cls(host=parts.hostname or "localhost", port=parts.port or (2376 if tls else 2375), tls=tls)
        raise EngineGone(f"DOCKER_HOST={url!r} is not a unix:// or tcp:// address")

    def describe(self) -> str:
        return f"unix://{self.socket_path}" if self.socket_path else f"tcp://{self.host}:{self.port}"


def _tls_context(env: dict[str, str]) -> ssl.SSLContext:
    """TLS as the docker CLI sets it up: the CA, client certificate and key in DOCKER_CERT_PATH."""
    import ssl  # only for an engine reached over TLS: it is slow to import, and a local socket needs none

    folder = Path(env.get("DOCKER_CERT_PATH") or Path.home() / ".docker")
    missing = [name for name in ("ca.pem", "cert.pem", "key.pem") if not (folder / name).is_file()]
    if missing:
        raise EngineGone(f"TLS to the engine needs {', '.join(missing)} in {folder} (DOCKER_CERT_PATH)")
    context = ssl.create_default_context(cafile=str(folder / "ca.pem"))
    context.load_cert_chain(str(folder / "cert.pem"), str(folder / "key.pem"))
    return context


class Engine:
    """The calls a run makes, each one HTTP request on a fresh connection."""

    def __init__(self, address: Address | None = None, *, version: str = API_VERSION) -> None:
        self.address = address or Address.from_env()
        self.version = version

    def _socket(self, timeout: float) -> socket.socket:
        """A connection to the engine, every wait on it bounded by `timeout`."""
        a = self.address
        if a.socket_path is None:
            sock = socket.create_connection((a.host, a.port), timeout=timeout)
            return _wrapped(sock, a.tls, a.host) if a.tls is not None else sock
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(a.socket_path)
        except BaseException:
            sock.close()
            raise
        return sock

    def call(
        self, method: str, path: str, *, body: Any = None, query: dict[str, str] | None = None, timeout: float = 0
    ) -> tuple[int, bytes]:
        """One request; the status and body of a success, EngineError for an error, EngineGone when the engine
        cannot be reached or the connection breaks, TimeoutError when `timeout` passes without an answer."""
        url = f"/v{self.version}{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        status, _, payload = self._exchange(method, url, data, headers, timeout or CALL_TIMEOUT_S)
        if status >= 400:
            raise _error(status, payload)
        return status, payload

    def _exchange(
        self, method: str, url: str, data: bytes | None, headers: dict[str, str], timeout: float
    ) -> tuple[int, str | None, bytes]:
        """One request on a fresh connection: the status, the engine's Api-Version header and the body."""
        host = self.address.host or "localhost"
        try:
            with self._socket(timeout) as sock:
                response = exchange(sock, method, url, host, data, headers)
        except TimeoutError:
            raise
        except (OSError, WireError) as err:
            raise EngineGone(f"{self.address.describe()}: {type(err).__name__}: {err}") from err
        return response.status, response.headers.get("api-version"), response.body

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        _, payload = self.call(method, path, **kwargs)
        return json.loads(payload) if payload else None

    def negotiate(self, timeout: float = 10) -> str:
        """Ping the engine and settle on an API version both sides speak (the engine's own if it is older),
        from the Api-Version header of GET /_ping, as the docker CLI does: the cheapest call the engine has."""
        status, header, payload = self._exchange("GET", "/_ping", None, {}, timeout)
        if status >= 400:
            raise _error(status, payload)
        theirs = header or API_VERSION
        if _version_key(theirs) < _version_key(self.version):
            self.version = theirs
        return theirs

    def image_exists(self, name: str) -> bool:
        try:
            self.call("GET", f"/images/{urllib.parse.quote(name, safe='')}/json")
        except NotFound:
            return False
        return True

    def create(self, config: dict[str, Any]) -> str:
        return str(self.json("POST", "/containers/create", body=config)["Id"])

    def start(self, cid: str) -> None:
        self.call("POST", f"/containers/{cid}/start")

    def wait(self, cid: str, timeout: float) -> int:
        """The container's exit status once it has ended; TimeoutError if it runs past `timeout` seconds."""
        return int(self.json("POST", f"/containers/{cid}/wait", timeout=timeout).get("StatusCode", -1))

    def inspect(self, cid: str) -> dict[str, Any]:
        found: dict[str, Any] = self.json("GET", f"/containers/{cid}/json")
        return found

    def logs(self, cid: str) -> bytes:
        """stdout and stderr, interleaved as they were written."""
        _, payload = self.call("GET", f"/containers/{cid}/logs", query={"stdout": "1", "stderr": "1"})
        return demultiplex(payload)

    def kill(self, cid: str, signal: str) -> None:
        self.call("POST", f"/containers/{cid}/kill", query={"signal": signal})

    def remove(self, cid: str) -> None:
        self.call("DELETE", f"/containers/{cid}", query={"force": "1", "v": "1"})

    def containers(self, label: str) -> list[str]:
        """Ids of every container, running or not, that carries `label`."""
        query = {"all": "1", "filters": json.dumps({"label": [label]})}
        return [str(c["Id"]) for c in self.json("GET", "/containers/json", query=query)]


def _wrapped(sock: socket.socket, tls: ssl.SSLContext, host: str) -> socket.socket:
    try:
        return tls.wrap_socket(sock, server_hostname=host)
    except BaseException:
        sock.close()
        raise


def _error(status: int, payload: bytes) -> EngineError:
    try:
        message = str(json.loads(payload).get("message", ""))
    except (ValueError, AttributeError):
        message = payload.decode("utf-8", "replace")[:500]
    return (NotFound if status == 404 else EngineError)(status, message)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def demultiplex(payload: bytes) -> bytes:
    """The bytes of a log stream without the engine's frame headers (1 byte stream, 3 zero, 4 bytes size).

    A container without a TTY is always framed; bytes that do not parse as frames are kept as they are."""
    out = bytearray()
    at = 0
    while at + 8 <= len(payload):
        stream, size = payload[at], struct.unpack(">I", payload[at + 4 : at + 8])[0]
        if stream not in (0, 1, 2) or payload[at + 1 : at + 4] != b"\0\0\0":
            return bytes(out) + payload[at:]
        out += payload[at + 8 : at + 8 + size]
        at += 8 + size
    return bytes(out) + payload[at:]
