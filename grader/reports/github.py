"""GitHub Actions: a markdown step summary and `::error` annotations, escaped so output cannot inject commands.

The runner reads `::name::` at a line's start and the legacy `##[name]` anywhere in a line, even inside a
`::stop-commands::` block's echo: every line here with student text goes through `neutralise.workflow`,
and the step summary's cells through `neutralise.md_inline` (no links, images, HTML or table breaks)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from grader.neutralise import control, md_inline, workflow
from grader.report import Report

MAX_ANNOTATIONS = 10  # GitHub shows at most 10 error annotations per step; the rest go in one


def escape_data(text: str) -> str:
    """A workflow command's message: after this it is one line and cannot close or start a command."""
    one = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return workflow(control(one))  # `##[` is read anywhere, even after a command's `::`


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **props: str) -> str:
    head = ",".join(f"{k}={escape_property(v)}" for k, v in props.items())
    return f"::{name} {head}::{escape_data(message)}" if head else f"::{name}::{escape_data(message)}"


def error_annotations(reports: Sequence[Report]) -> list[str]:
    found = []
    for r in reports:
        file = r.submission or f"exercises/{r.exercise}/solution.py"
        for c in r.checks:
            if not c.passed:
                found.append(command("error", c.message, file=file, title=f"{r.exercise}: {c.title}"))
    if len(found) > MAX_ANNOTATIONS:
        rest = len(found) - MAX_ANNOTATIONS + 1
        found = [*found[: MAX_ANNOTATIONS - 1], command("error", f"{rest} more failing checks: see the job summary")]
    return found


def fenced(title: str, text: str) -> list[str]:
    """Echo untrusted text with workflow commands switched off, under a token it cannot guess or contain."""
    token = secrets.token_hex(16)
    while token in text:
        token = secrets.token_hex(16)
    echo = [workflow(line) for line in text.splitlines()]  # the legacy `##[` form is read even here
    return [command("group", title), f"::stop-commands::{token}", *echo, f"::{token}::", "::endgroup::"]


def log(reports: Sequence[Report]) -> list[str]:
    lines = error_annotations(reports)
    for r in reports:
        if r.output or r.stderr:
            lines += fenced(f"{r.exercise} output", r.output + r.stderr)
    return lines


def _cell(text: str) -> str:
    # one line per cell; `|` is escaped by md_inline, so a message cannot add columns
    return md_inline(text)


def summary(reports: Sequence[Report]) -> str:
    score, maximum = sum(r.score for r in reports), sum(r.max_score for r in reports)
    out = [f"## grade: {score:g}/{maximum:g}", ""]
    for r in reports:
        mark = "✅" if r.status == "passed" else "❌"
        out += [f"### {mark} {_cell(r.exercise)} — {r.status}, {r.score:g}/{r.max_score:g}", ""]
        if r.reason:
            out += [_cell(r.reason), ""]
        out += ["| check | points | result |", "| --- | --- | --- |"]
        for c in r.checks:
            result = "✅ " + _cell(c.message) if c.passed else "❌ " + _cell(c.message)
            out.append(f"| {_cell(c.title)} | {c.score:g}/{c.max_score:g} | {result} |")
        out.append("")
    return "\n".join(out)


def write(reports: Sequence[Report], *, environ: dict[str, str] | None = None) -> list[str]:
    """Append the summary to $GITHUB_STEP_SUMMARY (when set); return the log lines for stdout."""
    env = environ if environ is not None else os.environ
    if target := env.get("GITHUB_STEP_SUMMARY"):
        with Path(target).open("a", encoding="utf-8") as f:
            f.write(summary(reports) + "\n")
    return log(reports)
