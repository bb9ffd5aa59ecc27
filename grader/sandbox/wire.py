"""HTTP/1.1 as the Docker engine's API needs it, one request per connection, on a socket already open.

http.client (with the email parser and ssl it imports) takes longer to import than `grade submit` waits
before its container is created. A request here is written whole and its answer read to the end of the
connection (`Connection: close`), then split: status, headers, and a body sent with Content-Length,
chunked, or up to the close.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

READ_BYTES = 1 << 16


class WireError(Exception):
    """The answer is not an HTTP response (the connection closed early, a malformed head or chunk)."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes


def request_bytes(method: str, target: str, host: str, body: bytes | None, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", "Connection: close", "User-Agent: grade"]
    if body is not None or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body or b'')}")
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


def exchange(
    sock: socket.socket, method: str, target: str, host: str, body: bytes | None, headers: dict[str, str]
) -> Response:
    """Send one request and read its whole answer; the socket's timeout bounds each wait (TimeoutError)."""
    sock.sendall(request_bytes(method, target, host, body, headers))
    chunks = []
    while data := sock.recv(READ_BYTES):
        chunks.append(data)
    return parse(b"".join(chunks))


def parse(raw: bytes) -> Response:
    head, sep, rest = raw.partition(b"\r\n\r\n")
    if not sep:
        raise WireError(f"the connection closed after {len(raw)} bytes, before the end of the response's head")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise WireError(f"not an HTTP status line: {status_line[:80]!r}")
    headers = {}
    for line in header_lines:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return Response(int(parts[1]), headers, _body(rest, headers))


def _body(rest: bytes, headers: dict[str, str]) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return dechunk(rest)
    length = headers.get("content-length")
    if length is not None and length.isdigit():
        if len(rest) < int(length):
            raise WireError(f"the connection closed after {len(rest)} of {length} bytes of the body")
        return rest[: int(length)]
    return rest


def dechunk(data: bytes) -> bytes:
    """A chunked body's bytes (RFC 9112 §7.1); trailers are dropped."""
    out, at = bytearray(), 0
    while True:
        end = data.find(b"\r\n", at)
        size_text = data[at:end].split(b";")[0].strip() if end >= 0 else b""
        try:
            size = int(size_text, 16)
        except ValueError:
            raise WireError(f"bad chunk size {size_text[:20]!r} at byte {at}") from None
        if size == 0:
            return bytes(out)
        start = end + 2
        if start + size + 2 > len(data):
            raise WireError(f"the connection closed inside a chunk of {size} bytes")
        out += data[start : start + size]
        at = start + size + 2
