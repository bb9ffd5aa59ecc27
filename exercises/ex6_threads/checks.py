"""ex6 — threading.Thread: one thread named LoopThread counts to 5 next to the main thread, which joins it."""

from __future__ import annotations

from grader.api import (
    Check,
    Match,
    Pattern,
    Run,
    Thread,
    Verdict,
    exit_status,
    fail,
    nothing_left_running,
    ok,
    printed_after_threads_ended,
    thread_count,
    thread_label,
    writer_label,
)

MAIN_RUNNING = Pattern("thread MainThread is running...")
STEP = Pattern("thread LoopThread >>> <n>")
LOOP_ENDED = Pattern("thread LoopThread ended.")
MAIN_ENDED = Pattern("thread MainThread ended.")
STEPS = [1, 2, 3, 4, 5]


def loop_thread(run: Run) -> Thread | None:
    """The thread of main's process that printed the `>>>` lines (the first to print one), else its only thread."""
    threads = {t.tid: t for t in run.threads()}
    for m in sorted(run.find(STEP), key=lambda m: m.line.t):
        if m.line.tid in threads:
            return threads[m.line.tid]
    return next(iter(threads.values())) if len(threads) == 1 else None


def _elsewhere(run: Run, matches: list[Match]) -> Verdict:
    """The `>>>` lines exist but no thread of main printed them: say who did."""
    who = sorted({writer_label(run, m) for m in matches})
    return fail(
        f"the '>>>' lines were printed by {', '.join(who)}, not by a thread of main's process — print them from "
        "the function the Thread runs (target=loop), so the thread itself prints them"
    )


def loop_lines(run: Run) -> Verdict:
    matches = sorted(run.find(STEP), key=lambda m: m.line.t)
    if not matches:
        return fail(f"no line like {str(STEP)!r} was printed")
    thread = loop_thread(run)
    if thread is None or not any(m.line.tid == thread.tid for m in matches):
        return _elsewhere(run, matches)
    mine = [m.int("n") for m in matches if m.line.tid == thread.tid]
    others = [m for m in matches if m.line.tid != thread.tid]
    who = thread_label(run, thread.tid)
    if others:
        return fail(f"{who} printed '>>>' lines, but so did {writer_label(run, others[0])}: only the thread counts")
    if mine != STEPS:
        return fail(f"{who} printed '>>>' with {mine}; expected {STEPS}, in that order")
    return ok(f"{who} printed 'thread LoopThread >>> 1' to '>>> 5' in order")


def loop_ended(run: Run) -> Verdict:
    thread = loop_thread(run)
    if thread is None:
        return fail(f"no single thread of main printed the '>>>' lines ({len(run.threads())} thread(s))")
    who = thread_label(run, thread.tid)
    last_step = max((m.line.t for m in run.find(STEP) if m.line.tid == thread.tid), default=None)
    ends = [m for m in run.find(LOOP_ENDED) if m.line.tid == thread.tid]
    if not ends:
        by = sorted({writer_label(run, m) for m in run.find(LOOP_ENDED)})
        seen = f"it was printed by {', '.join(by)}" if by else "no such line"
        return fail(f"{who} never printed {str(LOOP_ENDED)!r} ({seen}) — print it at the end of the thread's function")
    if last_step is None or ends[0].line.t < last_step:
        return fail(f"{who} printed {str(LOOP_ENDED)!r} before its last '>>>' line")
    return ok(f"{who} printed {str(LOOP_ENDED)!r} after its '>>>' lines")


def main_running(run: Run) -> Verdict:
    main = run.main
    if main is None:
        return fail("the program never started")
    mine = [m for m in run.find(MAIN_RUNNING) if run.by_main_thread(m)]
    if not mine:
        by = sorted({writer_label(run, m) for m in run.find(MAIN_RUNNING)})
        seen = f" (it was printed by {', '.join(by)})" if by else ""
        return fail(f"main thread {main.pid} never printed {str(MAIN_RUNNING)!r}{seen}; print it before t.start()")
    first = min((t.start for t in run.threads() if t.start is not None), default=None)
    if first is not None and mine[0].line.t > first:
        return fail(f"main printed {str(MAIN_RUNNING)!r} at {run.since(mine[0].line.t)}, after it started a thread")
    return ok(f"main thread {main.pid} printed {str(MAIN_RUNNING)!r} before starting the thread")


CHECKS = (
    Check("one_thread", "main starts exactly one thread", 2, thread_count(1, what="the LoopThread")),
    Check("loop_lines", "the thread itself prints '>>> 1' to '>>> 5'", 3, loop_lines),
    Check("loop_ended", "the thread prints that it ended, after its count", 1, loop_ended),
    Check("main_running", "the main thread says it is running before it starts the thread", 1, main_running, tidy=True),
    Check(
        "joined",
        "the main thread prints 'thread MainThread ended.' after the thread has ended",
        2,
        printed_after_threads_ended(MAIN_ENDED, lambda run: run.threads(), hint="print it after t.join()"),
    ),
    Check("nothing_left", "nothing is left running when main exits", 1, nothing_left_running(), tidy=True),
    Check("main_exit", "main exits with status 0", 1, exit_status(0), tidy=True),
)
