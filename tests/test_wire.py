"""The engine client's HTTP/1.1: the request it writes, and answers with a length, chunked, to the close, or
broken (each broken answer is a WireError, which the client reports as the engine gone, never a crash)."""

from __future__ import annotations

import socket
import threading

import pytest

from grader.sandbox.wire import Response, WireError, dechunk, exchange, parse, request_bytes


def test_a_request_closes_its_connection_and_says_its_length() -> None:
    raw = request_bytes("POST", "/v1.41/containers/create", "localhost", b'{"a": 1}', {"Content-Type": "x"})
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /v1.41/containers/create HTTP/1.1" and body == b'{"a": 1}'
    assert {"Host: localhost", "Connection: close", "Content-Length: 8", "Content-Type: x"} <= set(lines)
    assert b"Content-Length: 0" in request_bytes("POST", "/start", "h", None, {})  # a POST without a body
    assert b"Content-Length" not in request_bytes("GET", "/_ping", "h", None, {})


def test_a_body_with_a_length_stops_at_it() -> None:
    r = parse(b"HTTP/1.1 201 Created\r\nContent-Length: 5\r\nApi-Version: 1.41\r\n\r\nhello")
    assert r == Response(201, {"content-length": "5", "api-version": "1.41"}, b"hello")


def test_a_chunked_body_is_joined_and_its_trailers_dropped() -> None:
    r = parse(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nX: y\r\n\r\n"
    )
    assert (r.status, r.body) == (200, b"Wikipedia")
    assert dechunk(b"0\r\n\r\n") == b""


def test_a_body_without_length_runs_to_the_close() -> None:
    assert parse(b"HTTP/1.0 200 OK\r\n\r\n{}\n").body == b"{}\n"


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n",  # the head never ends
        b"SSH-2.0-OpenSSH\r\n\r\n",  # not HTTP
        b"HTTP/1.1 2xx OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",  # closed mid-body
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",  # a bad size
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc",  # closed mid-chunk
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",  # no last chunk
    ],
    ids=["empty", "head", "ssh", "status", "length", "size", "chunk", "last"],
)
def test_a_broken_answer_is_a_wire_error(raw: bytes) -> None:
    with pytest.raises(WireError):
        parse(raw)


def test_exchange_reads_a_real_socket_to_its_close() -> None:
    """A server that sends its answer in small pieces, then closes: the whole answer is read."""
    server, client = socket.socketpair()
    answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"".join(
        b"%x\r\n%s\r\n" % (len(part), part) for part in (b"x" * 70000, b"y")
    )
    answer += b"0\r\n\r\n"

    def serve() -> None:
        server.recv(65536)
        for at in range(0, len(answer), 1000):
            server.sendall(answer[at : at + 1000])
        server.close()

    thread = threading.Thread(target=serve)
    thread.start()
    client.settimeout(10)
    with client:
        r = exchange(client, "GET", "/x", "localhost", None, {})
    thread.join()
    assert r.status == 200 and r.body == b"x" * 70000 + b"y"


def test_an_answer_that_never_comes_is_a_timeout() -> None:
    server, client = socket.socketpair()
    client.settimeout(0.2)
    with client, server, pytest.raises(TimeoutError):
        exchange(client, "POST", "/wait", "localhost", None, {})
