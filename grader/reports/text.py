"""The terminal report: one line per check, the score, and optionally the process tree with lifetimes.

Every string goes in as a rich `Text` (never parsed as markup) with its control characters made visible:
messages, reasons, paths and argv carry what the student's program wrote or named."""

from __future__ import annotations

from rich.console import Console, Group
from rich.text import Text
from rich.tree import Tree as RichTree

from grader.neutralise import terminal
from grader.report import Report
from grader.tree import Proc, Thread, Tree

STATUS_STYLE = {"passed": "bold green", "failed": "bold red", "error": "bold magenta", "timeout": "bold yellow"}


def _fmt(x: float) -> str:
    return f"{x:g}"


def check_lines(report: Report) -> list[Text]:
    lines = []
    for c in report.checks:
        mark = ("✔", "green") if c.passed else ("✘", "red")
        lines.append(
            Text.assemble(
                mark,
                f" {_fmt(c.score):>3}/{_fmt(c.max_score):<3} ",
                (terminal(c.title), "bold"),
                ": ",
                terminal(c.message),
            )
        )
    return lines


def _label(p: Proc, t0: float, tree: Tree) -> Text:
    prog = p.program.rsplit("/", 1)[-1] if p.program else "(fork of parent)"
    argv = next((" ".join(e.argv) for e in reversed(p.execs) if e.ok), prog)
    start = f"{(p.start or t0) - t0:.3f}s"
    end = f"{p.end - t0:.3f}s" if p.end is not None else "…"
    how = "" if p.how == "root" else f" via {p.how}"
    ended = p.describe_end()
    reaped = f", reaped by {p.reaped_by}" if p.reaped_by else ""
    threads = f", {len(p.threads)} more thread{'s' if len(p.threads) != 1 else ''}" if p.threads else ""
    style = "green" if p.exit_code == 0 else "red" if p.ended else "yellow"
    text = Text.assemble(
        (f"{p.pid}", "bold"),
        terminal(f" {argv[:60]}{how}  [{start} → {end}] "),
        (terminal(ended), style),
        terminal(f"{reaped}{threads}"),
    )
    n = len([ln for ln in tree.lines_of(p.pid) if ln.tid in (None, p.pid)]) if p.threads else len(tree.lines_of(p.pid))
    if n:
        text.append(
            f"  ({n} line{'s' if n != 1 else ''} printed{' by its main thread' if p.threads else ''})", style="dim"
        )
    return text


def _thread_label(th: Thread, t0: float, printed: int) -> Text:
    """A thread under its process: its id, the name it gave itself (a label the program chose), its lifetime."""
    start = f"{(th.start or t0) - t0:.3f}s"
    end = f"{th.end - t0:.3f}s" if th.end is not None else "…"
    named = f" {th.name!r}" if th.name else ""
    blocked = f" blocked in {th.blocked_in}" if th.blocked_in else ""
    text = Text.assemble(
        ("thread ", "cyan"), (f"{th.tid}", "bold cyan"), terminal(f"{named}  [{start} → {end}]{blocked}")
    )
    text.append(f"  made by {th.creator}", style="dim")
    if printed:
        text.append(f"  ({printed} line{'s' if printed != 1 else ''} printed)", style="dim")
    return text


DRAWN_THREADS = 16  # per process: a thread bomb's threads are counted, not drawn


def _add_threads(node: RichTree, p: Proc, t0: float, tree: Tree) -> None:
    threads = tree.threads_of(p.pid)
    by_tid: dict[int | None, int] = {}
    for ln in tree.lines_of(p.pid):
        by_tid[ln.tid] = by_tid.get(ln.tid, 0) + 1
    for th in threads[:DRAWN_THREADS]:
        node.add(_thread_label(th, t0, by_tid.get(th.tid, 0)))
    if len(threads) > DRAWN_THREADS:
        node.add(Text(f"… and {len(threads) - DRAWN_THREADS} more threads not drawn", style="dim"))


DRAWN_PROCS = 200  # a drawing is for reading: a fork bomb's thousands of processes are counted, not drawn
DRAWN_DEPTH = 40  # generations drawn; a chain a thousand deep would be a thousand columns wide


def process_tree(tree: Tree) -> RichTree | Text:
    """The tree as the student reads it, drawn with a loop (a chain of any depth cannot exhaust the stack)."""
    main = tree.main
    if main is None:
        return Text("no process tree: the program never ran under the tracer", style="dim")
    shown = tree.trimmed(DRAWN_PROCS)
    t0 = main.start or 0.0
    root = RichTree(_label(main, t0, shown))
    stack: list[tuple[RichTree, int, int]] = [(root, main.pid, 0)]
    deeper = 0
    while stack:
        node, pid, depth = stack.pop()
        _add_threads(node, shown.procs[pid], t0, shown)
        kids = sorted(shown.children(pid), key=lambda p: p.start or 0)
        if depth >= DRAWN_DEPTH:
            deeper += len(kids)
            continue
        stack.extend((node.add(_label(child, t0, shown)), child.pid, depth + 1) for child in kids)
    left_out = shown.procs_dropped + deeper
    if left_out:
        root.add(Text(f"… and {left_out} more processes not drawn", style="dim"))
    return root


def ran_again(report: Report) -> str:
    """Why the program ran more than once: its first runs failed only in the exercise's own race."""
    return (
        f"the program ran {report.runs} times: a run that fails only in a way the exercise's own race explains "
        "(the course program's timing on a busy machine) is run again; this is the last run"
    )


def render(report: Report, *, console: Console, tree: bool = False, title: str | None = None) -> None:
    head = Text.assemble((report.exercise, "bold"), "  ", (report.status.upper(), STATUS_STYLE[report.status]))
    if title:
        head.append(terminal(f"  {title}"), style="dim")
    console.print(head)
    for line in check_lines(report):
        console.print(line)
    if report.reason:
        console.print(Text(terminal(f"  {report.reason}"), style=STATUS_STYLE[report.status]))
    if report.output_truncated:
        console.print(Text("  note: the program's output was cut at the output limit", style="dim"))
    if report.runs > 1:
        console.print(Text(f"  note: {ran_again(report)}", style="dim"))
    if tree and report.tree is not None:
        console.print(Group(Text("process tree (times from main's start):", style="bold"), process_tree(report.tree)))
    console.print(
        Text.assemble(
            "Score: ",
            (f"{_fmt(report.score)}/{_fmt(report.max_score)}", STATUS_STYLE[report.status]),
            f"   ({report.duration_s:.2f}s in the sandbox)",
        )
    )
