"""GitHub Classroom: the base64 `result` output that classroom-resources/autograding-grading-reporter decodes.

The reporter receives it in one environment variable (`GRADE_RESULTS`), and Linux limits one variable to
128 KiB: the encoded payload is capped at PAYLOAD_CAP, half of that. Each check message is capped at
MESSAGE_CAP characters; when the whole payload is still too large, the messages (where the program's own text
appears) are cut shorter, then dropped — never the names, statuses and points Classroom totals."""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grader.report import Report

VERSION = 1
PAYLOAD_CAP = 64 << 10  # bytes of base64: the variable stays well under Linux's 128 KiB (MAX_ARG_STRLEN)
MESSAGE_CAP = 1024  # characters per check message
_SHORTER = (MESSAGE_CAP, 256, 64, 0)
# The reporter prints messages to the job's log: no line breaks or control characters, and no `##[` (the
# runner reads the legacy workflow-command form anywhere in a line).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def inert(text: str, cap: int) -> str:
    text = _CONTROL.sub(" ", text).replace("##[", "#\u200b#[")
    if len(text) <= cap:
        return text
    return text[: cap - 1] + "…" if cap else ""


def _message(r: Report, text: str, cap: int) -> str:
    judged = r.status in ("passed", "failed")
    return inert(text if judged else f"{r.status}: {r.reason} — {text}", cap)


def payload(reports: Sequence[Report], *, message_cap: int = MESSAGE_CAP) -> dict[str, Any]:
    tests = []
    for r in reports:
        for c in r.checks:  # the checks' scores add up to the report's (Report refuses any other)
            test: dict[str, Any] = {
                "name": f"{r.exercise}: {c.title}",
                "status": "pass" if c.passed else ("error" if r.status == "error" else "fail"),
                "score": c.score,
                "message": _message(r, c.message, message_cap),
                "test_code": f"grade submit {r.exercise}",
                "filename": inert(r.submission or f"exercises/{r.exercise}/solution.py", 200),
                "line_no": 0,
                "execution_time": f"{r.duration_s:.2f}s",
            }
            tests.append(test)
    passed = all(r.status == "passed" for r in reports)
    errored = any(r.status == "error" for r in reports)
    return {
        "version": VERSION,
        "status": "pass" if passed else ("error" if errored else "fail"),
        "max_score": sum(r.max_score for r in reports),
        "tests": tests,
    }


def _b64(data: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def encode(reports: Sequence[Report]) -> str:
    """The payload, base64, within PAYLOAD_CAP: messages cut shorter until it fits."""
    for cap in _SHORTER:
        encoded = _b64(payload(reports, message_cap=cap))
        if len(encoded) <= PAYLOAD_CAP:
            return encoded
    return encoded  # only names and points left: far below the cap for any course's number of checks


def write(reports: Sequence[Report], *, environ: dict[str, str] | None = None) -> str | None:
    """Append `result=<b64>` to $GITHUB_OUTPUT; returns the line instead when that variable is unset."""
    line = f"result={encode(reports)}"
    target = (environ if environ is not None else os.environ).get("GITHUB_OUTPUT")
    if not target:
        return line
    with Path(target).open("a", encoding="utf-8") as f:
        f.write(line + "\n")
    return None
