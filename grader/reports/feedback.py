"""Per-student feedback in markdown: each exercise's score, every check with its message, and why."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

from grader.errors import GraderError
from grader.reports.gradebook import Book
from grader.store import Row

MARK = {True: "✔", False: "✘"}


def _num(x: float) -> str:
    return f"{x:g}"


def _fence(text: str) -> str:
    # a student's output may itself hold back-ticks: the fence must be longer than any run inside
    ticks = "`" * max(3, 1 + max((len(m) for m in re.findall(r"`+", text)), default=0))
    return f"{ticks}\n{text.rstrip()}\n{ticks}"


def markdown(student: str, rows: list[Row], book: Book) -> str:
    by_ex = {r.exercise: r for r in rows}
    lines = [
        f"# Feedback for {student}",
        "",
        f"**Total: {_num(book.total(student))}/{_num(book.max_total)}**",
        "",
        "| exercise | status | score |",
        "| --- | --- | --- |",
    ]
    for e in book.exercises:
        r = by_ex.get(e.id)
        status = r.status if r else "missing"
        lines.append(f"| {e.title} | {status} | {_num(r.score if r else 0)}/{_num(e.max_score)} |")
    for e in book.exercises:
        r = by_ex.get(e.id)
        lines += ["", f"## {e.title}", ""]
        if r is None or r.status == "missing":
            lines.append("No file for this exercise was found in your submission.")
            continue
        lines.append(f"Status **{r.status}**, score {_num(r.score)}/{_num(r.max_score)}.")
        if r.rule:
            lines.append(f"Graded file: `{Path(r.submission or '').name}` ({r.rule}).")
        if r.reason:
            lines += ["", f"> {r.reason}"]
        report = json.loads(r.report) if r.report else {}
        lines.append("")
        for c in report.get("checks", []):
            lines.append(
                f"- {MARK[c['passed']]} **{c['title']}** ({_num(c['score'])}/{_num(c['max_score'])}): {c['message']}"
            )
        output = report.get("output", "")
        if output.strip():
            cut = output if len(output) <= 2000 else output[:2000] + "\n… (cut)"
            lines += ["", "Your program printed:", "", _fence(cut)]
    return "\n".join(lines) + "\n"


def _filename(student: str) -> str:
    safe = re.sub(r"[^\w.@-]+", "_", student).strip("._") or "student"
    return f"{safe}.md"


def write_all(rows: list[Row], out: Path) -> list[Path]:
    """One markdown file per student in `out`; returns the paths written."""
    book = Book.of(rows)
    grouped: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        grouped[r.student].append(r)
    try:
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for student in book.students:
            path = out / _filename(student)
            path.write_text(markdown(student, grouped[student], book), encoding="utf-8")
            paths.append(path)
    except OSError as err:
        raise GraderError(f"cannot write feedback to {out}: {err.strerror} — pick another --out") from err
    return paths
