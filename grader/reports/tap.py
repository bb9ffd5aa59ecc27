"""TAP version 14 on stdout: one test point per check, a subtest block per exercise.

Student text (messages, reasons) is one line per description with control characters visible, and a
failure's message is one YAML double-quoted scalar: no line of it can end the YAML block (`...`) early and
be read as a test point, nor start a workflow command when the TAP is echoed in a CI log."""

from __future__ import annotations

import json
from collections.abc import Sequence

from grader.neutralise import control, one_line, workflow
from grader.report import Report


def _line(text: str) -> str:
    # a test point's description is one line; `#` would start a directive
    return workflow(" ".join(one_line(text).split()).replace("\\", "\\\\").replace("#", "\\#"))


def _yaml(message: str, indent: str) -> list[str]:
    # JSON's string syntax is YAML's double-quoted scalar: the message's line breaks stay inside the quotes
    quoted = workflow(json.dumps(control(message), ensure_ascii=False))
    return [f"{indent}  ---", f"{indent}  message: {quoted}", f"{indent}  ..."]


def render(reports: Sequence[Report]) -> str:
    out = ["TAP version 14", f"1..{len(reports)}"]
    for n, r in enumerate(reports, 1):
        out += [f"# Subtest: {r.exercise}", f"    1..{len(r.checks)}"]
        for i, c in enumerate(r.checks, 1):
            out.append(f"    {'ok' if c.passed else 'not ok'} {i} - {_line(c.id + ': ' + c.title)}")
            if not c.passed:
                out += _yaml(c.message, "    ")
        what = f"{r.status}, {r.score:g}/{r.max_score:g}" + (f", {r.reason}" if r.reason else "")
        out.append(f"{'ok' if r.status == 'passed' else 'not ok'} {n} - {_line(r.exercise + ': ' + what)}")
    return "\n".join(out) + "\n"
