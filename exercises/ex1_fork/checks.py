"""ex1 — fork: one os.fork(), both sides print their real PIDs, the parent reaps the child."""

from __future__ import annotations

from collections.abc import Callable

from grader.api import (
    Pattern,
    Proc,
    Run,
    Verdict,
    exits_zero,
    fail,
    names,
    ok,
    printed,
)

START = Pattern("Process (<pid>) start...")
PARENT = Pattern("I (<pid>) just created a child process (<child>).")
# the course notes' own program prints `i am process (...)`: copying it is not an error
CHILD = Pattern(
    "I am child process (<pid>) and my parent is <ppid>.", also=["I am process (<pid>) and my parent is <ppid>."]
)


def the_child(run: Run) -> Proc | None:
    kids = run.children()
    return kids[0] if len(kids) == 1 else None


def by_fork(run: Run) -> Verdict:
    kids = run.children()
    if not kids:
        return fail("main created no child process — call os.fork()")
    execd = [p for p in kids if p.program is not None]
    if execd:
        p = execd[0]
        argv = " ".join(next(e.argv for e in reversed(p.execs) if e.ok))
        return fail(
            f"child {p.pid} was made by {p.how}+exec and ran `{argv}` (subprocess or exec) — "
            "os.fork() makes a copy of the running program, which is what this exercise is about"
        )
    if len(kids) == 1:
        return ok(f"child {names(kids)} is a forked copy of main, running the same program")
    return ok(f"children {names(kids)} are forked copies of main, running the same program")


def start_line(run: Run) -> Verdict:
    main = run.main
    if main is None:
        return fail("the program never started")
    verdict = printed(run, START, main, {"pid": (main.pid, "its real PID")}, who="main process")
    kids = run.children()
    if verdict.passed and kids and kids[0].start is not None:
        first = min(m.line.t for m in run.find(START) if m.line.pid == main.pid)
        if first > kids[0].start:
            return fail(f"main printed {str(START)!r} after it forked child {kids[0].pid}; print it before os.fork()")
    return verdict


def _with_one_child(run: Run, line: Callable[[Proc, Proc], Verdict]) -> Verdict:
    """Lines that name both processes need exactly one child to compare against."""
    main, child = run.main, the_child(run)
    if main is None:
        return fail("the program never started")
    if child is None:
        return fail(f"main process {main.pid} created {len(run.children())} children; the line needs exactly one")
    return line(main, child)


def parent_line(run: Run) -> Verdict:
    def line(main: Proc, child: Proc) -> Verdict:
        real = {"pid": (main.pid, "its real PID"), "child": (child.pid, "the child's real PID")}
        return printed(run, PARENT, main, real, who="parent")

    return _with_one_child(run, line)


def child_line(run: Run) -> Verdict:
    def line(main: Proc, child: Proc) -> Verdict:
        real = {"pid": (child.pid, "its real PID"), "ppid": (main.pid, "its parent's real PID")}
        return printed(run, CHILD, child, real, who="child")

    return _with_one_child(run, line)


child_exit = exits_zero(
    the_child,
    what="child",
    missing=lambda run: f"expected exactly one child; main created {len(run.children())}",
    expect="it to exit with status 0 (sys.exit(0) or os._exit(0))",
)
