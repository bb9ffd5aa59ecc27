"""ex8 — threading.local: two threads store a name each and read it back; each must see its own.

What a thread stored in a threading.local() is not in the trace: the run is judged by who wrote each line
and what it says. process_thread pauses between storing the name and reading it back, so with one shared
global instead of a thread-local the first thread reads the second's name: the mix-up shows in the output.
"""

from __future__ import annotations

from grader.api import (
    Check,
    Match,
    Pattern,
    Run,
    Verdict,
    exit_status,
    fail,
    nothing_left_running,
    ok,
    thread_count,
    thread_label,
    writer_label,
)

HELLO = Pattern("Hello, <who> (in <thread>)", text=["who", "thread"])
GIVEN = {"thread-a": "alice", "thread-b": "bob"}  # each thread's name -> the student it is given


def _key(m: Match, name: str) -> str:
    return m.values.get(name, "").strip().strip("'\"").lower()


def hellos(run: Run) -> dict[str, list[Match]]:
    """The 'Hello' lines by the thread name they spell (thread-a, thread-b), in time order."""
    out: dict[str, list[Match]] = {}
    for m in sorted(run.find(HELLO), key=lambda m: m.line.t):
        out.setdefault(_key(m, "thread"), []).append(m)
    return out


def own_lines(run: Run) -> Verdict:
    """One line per thread name, each written by a different thread of main's process (never by main)."""
    main = run.main
    if main is None:
        return fail("the program never started")
    found = hellos(run)
    threads = {t.tid for t in run.threads()}
    writers: dict[int | None, str] = {}
    for name in GIVEN:
        lines = found.get(name, [])
        if len(lines) != 1:
            return fail(f"expected one line 'Hello, <name> (in {name.title()})'; found {len(lines)}")
        m = lines[0]
        if m.line.tid not in threads or m.line.pid != main.pid:
            return fail(
                f"{m.line.text.strip()!r} was written by {writer_label(run, m)}, not by a thread of main's process — "
                "print it in process_student(), called by the thread itself"
            )
        if m.line.tid in writers:
            return fail(
                f"{thread_label(run, m.line.tid)} wrote both {writers[m.line.tid]!r} and {m.line.text.strip()!r}"
            )
        writers[m.line.tid] = m.line.text.strip()
    return ok("; ".join(f"{thread_label(run, tid)} wrote {text!r}" for tid, text in writers.items()))


def own_value(run: Run) -> Verdict:
    found = hellos(run)
    for name, student in GIVEN.items():
        lines = found.get(name, [])
        if not lines:
            return fail(f"no line 'Hello, <name> (in {name.title()})' was printed")
        m = lines[0]
        if _key(m, "who") != student:
            return fail(
                f"{writer_label(run, m)} printed {m.line.text.strip()!r}, but {name.title()} was given "
                f"{student.title()}: it read another thread's value — store the name in a threading.local(), "
                "not in a variable the threads share"
            )
    return ok("Thread-A read back Alice and Thread-B read back Bob")


CHECKS = (
    Check("two_threads", "main starts exactly two threads", 2, thread_count(2, what="Thread-A and Thread-B")),
    Check("own_lines", "each thread prints its own 'Hello' line", 3, own_lines),
    Check("own_value", "each thread reads back the name it stored", 3, own_value),
    Check("nothing_left", "nothing is left running when main exits", 1, nothing_left_running(), tidy=True),
    Check("main_exit", "main exits with status 0", 1, exit_status(0), tidy=True),
)
