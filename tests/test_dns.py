"""The DNS server inside the sandbox: dnsmasq on loopback answers the ex4 names, logs each query, and
refuses every other name, so nslookup really succeeds or fails without a network."""

from __future__ import annotations

import pytest

from grader.catalog import resolve
from grader.sandbox.base import RunRequest
from grader.settings import Settings

pytestmark = pytest.mark.docker

PROGRAM = b"""
import subprocess
for args, stdin in ((['nslookup', 'www.python.org'], ''), (['nslookup'], 'set q=mx\\npython.org\\nexit\\n'),
                    (['nslookup', 'www.example.org'], '')):
    res = subprocess.run(args, input=stdin, capture_output=True, text=True)
    print('@@', ' '.join(args), res.returncode)
    print(res.stdout)
"""


def test_dnsmasq_answers_the_exercise_names_and_logs_queries(sandbox, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    assert resolve("ex4").needs_dns
    outcome = sandbox.run(RunRequest(source=PROGRAM, settings=settings, dns=True))
    out = outcome.stdout.decode()
    assert outcome.dns_error is None, outcome.dns_error
    assert "@@ nslookup www.python.org 0" in out, out
    assert "151.101.0.223" in out and "2a04:4e42::223" in out, out
    assert "@@ nslookup 0" in out and "mail exchanger = 50 mail.python.org." in out, out
    assert "@@ nslookup www.example.org 1" in out, out  # not a name the server knows: nslookup fails
    log = outcome.dns_log
    for query in ("query[A] www.python.org", "query[AAAA] www.python.org", "query[MX] python.org", "www.example.org"):
        assert query in log, (query, log)


def test_no_dns_server_when_the_exercise_does_not_ask_for_one(sandbox, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    outcome = sandbox.run(RunRequest(source=PROGRAM, settings=settings, dns=False))
    out = outcome.stdout.decode()
    assert "@@ nslookup www.python.org 1" in out, out
    assert "query[" not in outcome.dns_log
