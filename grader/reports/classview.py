"""The class at a glance in the terminal: score distribution per exercise, most failed checks, trouble.

Table cells given as `str` would be parsed as rich markup (a student id or reason holding `[/x]` crashed the
report): every cell here is a `Text`, its control characters made visible by `cell`."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader.neutralise import terminal
from grader.reports.gradebook import Book
from grader.reports.text import STATUS_STYLE

BLOCKS = " ▁▂▃▄▅▆▇█"
STYLE = {**STATUS_STYLE, "missing": "dim"}


def cell(text: str, style: str = "") -> Text:
    """A table cell that is shown as written: no markup, no escape sequences."""
    return Text(terminal(text), style=style)


def spark(counts: list[int]) -> str:
    """A histogram in one line of block characters, scaled to the tallest band."""
    top = max(counts) or 1
    return "".join(BLOCKS[round(n / top * (len(BLOCKS) - 1))] if n else "·" for n in counts)


def render(book: Book, console: Console) -> None:
    students = len(book.students)
    console.print(Text.assemble(("Class report", "bold"), f"  {students} students, {len(book.exercises)} exercises"))
    totals = sorted(book.total(s) for s in book.students)
    if totals:
        console.print(
            f"total: median {totals[len(totals) // 2]:g}/{book.max_total:g}, min {totals[0]:g}, max {totals[-1]:g}"
        )

    dist = Table(title="scores per exercise", title_justify="left")
    # short headers and no wrapping: the table must read on an 80-column terminal
    for col in ("exercise", "mean", "0 → max", "pass", "fail", "time", "err", "miss"):
        left = col in ("exercise", "0 → max")
        dist.add_column(col, justify="left" if left else "right", no_wrap=left)
    for e in book.exercises:
        st = book.statuses(e.id)
        mean = sum(book.score(s, e.id) for s in book.students) / max(1, students)
        dist.add_row(
            cell(e.title),
            cell(f"{mean:.1f}/{e.max_score:g}"),
            cell(spark([n for _, n in book.histogram(e)])),
            *(
                Text(str(st[k]), style=STYLE[k] if st[k] else "dim")
                for k in ("passed", "failed", "timeout", "error", "missing")
            ),
        )
    console.print(dist)

    fails = book.failing_checks()[:10]
    if fails:
        checks = Table(title="checks most students fail", title_justify="left")
        for col in ("exercise", "check", "failed"):
            checks.add_column(col, justify="right" if col == "failed" else "left")
        for e, title, n, judged in fails:
            checks.add_row(cell(e.title), cell(title), cell(f"{n}/{judged}"))
        console.print(checks)

    trouble = book.trouble()
    if trouble:
        t = Table(title="errors and timeouts", title_justify="left")
        for col in ("student", "exercise", "status", "why"):
            t.add_column(col, overflow="fold")
        for r in trouble:
            status = cell("infra error" if r.infra else r.status, STYLE[r.status])
            t.add_row(cell(r.student), cell(r.exercise), status, cell(r.reason or ""))
        console.print(t)
    else:
        console.print(Text("no errors or timeouts", style="green"))
