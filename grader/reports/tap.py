"""TAP version 14 on stdout: one test point per check, a subtest block per exercise."""

from __future__ import annotations

from collections.abc import Sequence

from grader.report import Report


def _line(text: str) -> str:
    # a test point's description is one line; `#` would start a directive
    return " ".join(text.split()).replace("\\", "\\\\").replace("#", "\\#")


def _yaml(message: str, indent: str) -> list[str]:
    lines = [f"{indent}  ---", f"{indent}  message: |-"]
    lines += [f"{indent}    {ln}" for ln in (message.splitlines() or [""])]
    return [*lines, f"{indent}  ..."]


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
