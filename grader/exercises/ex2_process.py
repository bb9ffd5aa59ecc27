"""ex2 — multiprocessing.Process: one child runs run_proc('test'); main joins it before saying it ended."""

from __future__ import annotations

from grader.catalog import Exercise
from grader.checks import Check, Pattern, Run, Verdict, exit_status, fail, names, nothing_left_running, ok, printed
from grader.trace import Proc

PARENT = Pattern("Parent process <pid>.")
WILL_START = Pattern("Child process will start.")
CHILD = Pattern("Run child process test (<pid>)...")
END = Pattern("Child process end.")


def the_child(run: Run) -> Proc | None:
    # workers() leaves out multiprocessing's resource tracker and forkserver, which spawn/forkserver add
    kids = run.workers()
    return kids[0] if len(kids) == 1 else None


def since(run: Run, t: float | None) -> str:
    """A trace time as seconds after main started, as the --tree view shows them (absolute times mean nothing)."""
    base = run.main.start if run.main and run.main.start is not None else 0.0
    return "never" if t is None else f"{t - base:.4f}s"


def one_child(run: Run) -> Verdict:
    main = run.main
    if main is None:
        return fail("the program never started")
    kids = run.workers()
    if len(kids) == 1:
        return ok(
            f"main process {main.pid} created one child process ({kids[0].pid}), besides multiprocessing's helpers"
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


def parent_lines(run: Run) -> Verdict:
    main = run.main
    if main is None:
        return fail("the program never started")
    verdict = printed(run, PARENT, main, {"pid": (main.pid, "its real PID")}, who="main process")
    if not verdict.passed:
        return verdict
    if not any(m.line.pid == main.pid for m in run.find(WILL_START)):
        return fail(f"main process {main.pid} never printed {str(WILL_START)!r}; print it before p.start()")
    return ok(f"main process {main.pid} printed {str(PARENT)!r} with its real PID and {str(WILL_START)!r}")


def end_line(run: Run) -> Verdict:
    main, child = run.main, the_child(run)
    if main is None:
        return fail("the program never started")
    mine = [m for m in run.find(END) if m.line.pid == main.pid]
    if not mine:
        return fail(f"main process {main.pid} never printed {str(END)!r}; print it after p.join()")
    if child is None:
        return fail(f"{str(END)!r} needs exactly one child process to follow; main created {len(run.workers())}")
    said = mine[0].line.t
    if child.end is None:
        return fail(f"main printed {str(END)!r} at {since(run, said)} but child {child.pid} never ended")
    if said < child.end:
        return fail(
            f"main printed {str(END)!r} at {since(run, said)}, but child {child.pid} was still running until "
            f"{since(run, child.end)} — call p.join() before printing it"
        )
    return ok(
        f"main printed {str(END)!r} at {since(run, said)}, after child {child.pid} ended at {since(run, child.end)}"
    )


def child_exit(run: Run) -> Verdict:
    child = the_child(run)
    if child is None:
        return fail(f"expected exactly one child process; main created {len(run.workers())}")
    if child.exit_code == 0:
        return ok(f"child {child.pid} exited with status 0")
    return fail(
        f"child {child.pid} {child.describe_end()}; expected it to return from run_proc normally (exit status 0)"
    )


EXERCISE = Exercise(
    id="ex2_process",
    number=2,
    name="process",
    title="Start a child with multiprocessing.Process",
    checks=(
        Check("one_child", "main starts exactly one child process", 2, one_child),
        Check("child_line", "the child runs run_proc and prints its real PID", 2, child_line),
        Check("parent_lines", "main prints its real PID and that the child will start", 1, parent_lines),
        Check("end_line", "main prints 'Child process end.' after the child has exited", 2, end_line),
        Check("child_exit", "the child exits with status 0", 1, child_exit),
        Check("nothing_left", "nothing is left running when main exits", 1, nothing_left_running()),
        Check("main_exit", "main exits with status 0", 1, exit_status(0)),
    ),
)
