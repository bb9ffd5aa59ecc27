"""ex2 — multiprocessing.Process: one child runs run_proc('test'); main joins it before saying it ended."""

from __future__ import annotations

from grader.api import (
    Pattern,
    Proc,
    Run,
    Verdict,
    exits_zero,
    fail,
    main_prints,
    mp_helper,
    names,
    ok,
    printed,
    printed_after_exit,
)

PARENT = Pattern("Parent process <pid>.")
WILL_START = Pattern("Child process will start.")
CHILD = Pattern("Run child process test (<pid>)...")
END = Pattern("Child process end.")


def the_child(run: Run) -> Proc | None:
    # workers() leaves out multiprocessing's resource tracker and forkserver, which spawn/forkserver add
    kids = run.workers()
    return kids[0] if len(kids) == 1 else None


SPAWN_MAIN = "from multiprocessing.spawn import spawn_main"


def _sentinel_pipes(run: Run, child: Proc) -> bool:
    """multiprocessing's fork start method (popen_fork) creates the Process's two sentinel pipes and forks
    at once: main's last two pipes before the child was born, with no line printed and no process created
    between them and the birth. A bare os.fork() has no such pipes."""
    main = run.main
    if main is None or child.start is None:
        return False
    made = sorted(
        p.t for p in run.tree.pipes.values() if p.creator == main.pid and p.t is not None and p.t <= child.start
    )
    if len(made) < 2:
        return False
    first = made[-2]
    printed_between = any(first <= ln.t <= child.start for ln in run.tree.lines if ln.pid == main.pid)
    born_between = any(
        p.start is not None and first <= p.start < child.start for p in run.tree.children(main.pid) if p is not child
    )
    return not printed_between and not born_between


def how_started(run: Run, child: Proc) -> str:
    """How multiprocessing started `child` (empty when nothing shows that it did), for each start method."""
    parent = run.proc(child.parent)
    if parent is not None and parent is not run.main and mp_helper(parent) == "forkserver":
        return f"forked for main by multiprocessing's forkserver {parent.pid}"
    first = next((e for e in child.execs if e.ok), None)
    if first is not None:
        code = " ".join(first.argv)
        return (
            "spawned by multiprocessing (spawn_main)" if SPAWN_MAIN in code and "--multiprocessing-fork" in code else ""
        )
    if _sentinel_pipes(run, child):
        return "forked by multiprocessing right after creating the Process's sentinel pipes"
    return ""


def one_child(run: Run) -> Verdict:
    main = run.main
    if main is None:
        return fail("the program never started")
    kids = run.workers()
    if len(kids) == 1:
        child = kids[0]
        how = how_started(run, child)
        if not how:
            return fail(
                f"main process {main.pid} created one child process ({child.pid}), but not with "
                "multiprocessing.Process: no sentinel pipes before a fork, no spawn, no forkserver (a bare os.fork() "
                "or the like) — create p = Process(target=run_proc, args=('test',)) and call p.start()"
            )
        return ok(
            f"main process {main.pid} created one child process ({child.pid}), {how}, besides multiprocessing's helpers"
        )
    if not kids:
        ran_here = [m for m in run.find(CHILD) if m.line.pid == main.pid]
        hint = (
            f"run_proc ran inside main itself (main printed {ran_here[0].line.text.strip()!r})"
            if ran_here
            else "no process ran run_proc"
        )
        return fail(
            f"main process {main.pid} created no child process; {hint} — create "
            "p = Process(target=run_proc, args=('test',)) and call p.start()"
        )
    return fail(
        f"main process {main.pid} created {len(kids)} child processes ({names(kids)}); expected exactly one Process"
    )


def child_line(run: Run) -> Verdict:
    main, child = run.main, the_child(run)
    if main is None:
        return fail("the program never started")
    if child is None:
        return fail(f"expected exactly one child process to print {str(CHILD)!r}; main created {len(run.workers())}")
    if not run.created_for_main(child):
        return fail(
            f"child {child.pid} was created by process {child.parent}, not for main ({main.pid}) — "
            "start the Process from main"
        )
    verdict = printed(run, CHILD, child, {"pid": (child.pid, "its real PID")}, who="child")
    # under forkserver the child's parent is the forkserver, so os.getppid() there is not main's PID
    parents = {main.pid, child.parent}
    if not verdict.passed and any(m.int("pid") in parents for m in run.find(CHILD) if m.line.pid == child.pid):
        return fail(
            f"{verdict.message} — that is the parent's PID; print os.getpid() inside run_proc, which runs in the child"
        )
    return verdict


child_exit = exits_zero(
    the_child,
    what="child",
    missing=lambda run: f"expected exactly one child process; main created {len(run.workers())}",
    expect="it to return from run_proc normally (exit status 0)",
)


parent_lines = main_prints(PARENT, WILL_START, hint="print it before p.start()")
end_line = printed_after_exit(END, Run.workers, what="child", hint="print it after p.join()")
