"""Per-student feedback in markdown: each exercise's score, every check with its message, and why.

Student text is escaped for markdown (names, messages and reasons with `md_inline`, the program's output in
a fence it cannot close), and each file is named by `neutralise.filename`: unique and reversible, so two
students never share a file (`O'Brien` and `O Brien` did)."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from pathlib import Path

from grader.errors import GraderError
from grader.neutralise import filename, md_fence, md_inline
from grader.reports.gradebook import Book
from grader.store import Row

MARK = {True: "✔", False: "✘"}


def _num(x: float) -> str:
    return f"{x:g}"


def markdown(student: str, rows: list[Row], book: Book) -> str:
    by_ex = {r.exercise: r for r in rows}
    lines = [
        f"# Feedback for {md_inline(student)}",
        "",
        f"**Total: {_num(book.total(student))}/{_num(book.max_total)}**",
        "",
        "| exercise | status | score |",
        "| --- | --- | --- |",
    ]
    for e in book.exercises:
        r = by_ex.get(e.id)
        status = r.status if r else "missing"
        lines.append(f"| {md_inline(e.title)} | {status} | {_num(r.score if r else 0)}/{_num(e.max_score)} |")
    for e in book.exercises:
        r = by_ex.get(e.id)
        lines += ["", f"## {md_inline(e.title)}", ""]
        if r is None or r.status == "missing":
            lines.append("No file for this exercise was found in your submission.")
            continue
        lines.append(f"Status **{r.status}**, score {_num(r.score)}/{_num(r.max_score)}.")
        if r.rule:
            lines.append(f"Graded file: {md_inline(Path(r.submission or '').name)} ({md_inline(r.rule)}).")
        if r.reason:
            lines += ["", f"> {md_inline(r.reason)}"]
        report = json.loads(r.report) if r.report else {}
        lines.append("")
        for c in report.get("checks", []):
            title, message = md_inline(c["title"]), md_inline(c["message"])
            lines.append(f"- {MARK[c['passed']]} **{title}** ({_num(c['score'])}/{_num(c['max_score'])}): {message}")
        output = report.get("output", "")
        if output.strip():
            cut = output if len(output) <= 2000 else output[:2000] + "\n… (cut)"
            lines += ["", "Your program printed:", "", md_fence(cut)]
    return "\n".join(lines) + "\n"


def file_names(students: list[str]) -> dict[str, str]:
    """Each student's file name: `filename(student).md`, and where two differ only in case (one file on
    macOS and Windows) each of them also gets a hash of the exact id."""
    names = {s: filename(s) for s in students}
    folded: dict[str, int] = defaultdict(int)
    for name in names.values():
        folded[name.casefold()] += 1
    for s, name in names.items():
        if folded[name.casefold()] > 1:
            names[s] = f"{name}~{hashlib.sha256(s.encode('utf-8', 'surrogateescape')).hexdigest()[:8]}"
    return {s: f"{name}.md" for s, name in names.items()}


def write_all(rows: list[Row], out: Path) -> list[Path]:
    """One markdown file per student in `out`; returns the paths written."""
    book = Book.of(rows)
    grouped: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        grouped[r.student].append(r)
    try:
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        names = file_names(book.students)
        for student in book.students:
            path = out / names[student]
            path.write_text(markdown(student, grouped[student], book), encoding="utf-8")
            paths.append(path)
    except OSError as err:
        raise GraderError(f"cannot write feedback to {out}: {err.strerror} — pick another --out") from err
    return paths
