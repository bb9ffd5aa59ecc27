"""ex9 — multiprocessing.Pipe: main sends 1, 2, 3 and None to one child, which prints each value it got.

A value counts as sent when main's own thread wrote it, as a pickled Connection message, into a pipe or
socketpair whose read end the child held (inherited by fork, passed to a spawned interpreter, or sent to the
forkserver). A Queue writes from a feeder thread instead, and printing values sends nothing.
"""

from __future__ import annotations

import pickle

from grader.api import (
    Check,
    Match,
    Pattern,
    PipeWrite,
    Proc,
    Run,
    Verdict,
    exit_status,
    exits_zero,
    fail,
    names,
    nothing_left_running,
    ok,
    printed_after_exit,
    thread_label,
    writer_label,
)

GOT = Pattern("Got <v>", text=["v"])
DONE = Pattern("Pipe done.")
VALUES = ["1", "2", "3"]


def _message(value: object, protocol: int) -> str:
    """The first bytes of Connection.send(value) as the trace shows them: a 4-byte length, then the pickle."""
    body = pickle.dumps(value, protocol=protocol)
    return (len(body).to_bytes(4, "big") + body).decode("utf-8", "replace")


# the messages for 1, 2, 3 and None, under every pickle protocol a Python 3 multiprocessing may use
_HEADS = {_message(v, proto): repr(v) for v in (1, 2, 3, None) for proto in (2, 3, 4, 5)}


def the_child(run: Run) -> Proc | None:
    kids = [p for p in run.workers() if run.created_for_main(p)]
    return kids[0] if len(kids) == 1 and len(run.workers()) == 1 else None


def one_child(run: Run) -> Verdict:
    main = run.main
    if main is None:
        return fail("the program never started")
    kids = run.workers()
    seen = f"main process {main.pid} created {len(kids)} child process(es) ({names(kids)})"
    if the_child(run) is not None:
        return ok(f"{seen}, besides multiprocessing's helpers")
    threads = f"; it ran {len(run.threads())} thread(s), which are not processes" if run.threads() else ""
    return fail(f"{seen}; expected exactly one Process, started by main{threads}")


def sends(run: Run, child: Proc) -> list[tuple[PipeWrite, str]]:
    """Every message of 1, 2, 3 or None main's process wrote into a channel the child could read, in order."""
    main = run.main
    out = []
    for pipe in run.tree.pipes.values():
        if child.pid not in pipe.held_by or main is None:
            continue
        out += [(w, _HEADS[w.head]) for w in pipe.writes if w.pid == main.pid and w.head in _HEADS]
    return sorted(out, key=lambda item: item[0].t)


def _from_main_thread(run: Run, w: PipeWrite) -> bool:
    return run.main is not None and w.tid in (None, run.main.pid)


def _value(m: Match) -> str:
    return m.values.get("v", "").strip().strip("'\"")


def _not_by_child(run: Run, child: Proc | None) -> Verdict:
    got = run.find(GOT)
    if not got:
        return fail(f"no line like {str(GOT)!r} was printed")
    who = sorted({writer_label(run, m) for m in got})
    mine = f"the child {child.pid}" if child else "no single child"
    return fail(
        f"the 'Got' lines were printed by {', '.join(who)}, not by {mine} — print them where the child receives"
    )


def _sent_check(run: Run, child: Proc, m: Match, sent: list[tuple[PipeWrite, str]]) -> Verdict | None:
    """Why the child's line `m` was not printed after main sent its value through the pipe, or None."""
    v = _value(m)
    mine = [w for w, value in sent if value == v]
    if not mine:
        return fail(
            f"the child {child.pid} printed {m.line.text.strip()!r}, but main never sent {v} through a pipe the child "
            "could read — send it with conn.send(value) on one end of a multiprocessing.Pipe()"
        )
    if not any(_from_main_thread(run, w) for w in mine):
        return fail(
            f"{v} reached the child through a pipe written by {thread_label(run, mine[0].tid)} of main (a Queue's "
            "feeder thread), not by main itself — use a Pipe: parent_conn.send(value)"
        )
    first = min(w.t for w in mine if _from_main_thread(run, w))
    if m.line.t < first:
        return fail(f"the child printed {m.line.text.strip()!r} at {run.since(m.line.t)}, before main sent it")
    return None


def got_in_order(run: Run) -> Verdict:
    child = the_child(run)
    lines = [m for m in sorted(run.find(GOT), key=lambda m: m.line.t) if child and m.line.pid == child.pid]
    if child is None or not lines:
        return _not_by_child(run, child)
    got = [_value(m) for m in lines]
    if got != VALUES:
        return fail(f"the child {child.pid} printed Got {', '.join(got)}; expected Got 1, 2, 3 in that order")
    sent = sends(run, child)
    for m in lines:
        if (verdict := _sent_check(run, child, m, sent)) is not None:
            return verdict
    return ok(f"the child {child.pid} printed Got 1, 2, 3, each after main sent it through the pipe")


def got_none(run: Run) -> Verdict:
    child = the_child(run)
    if child is None:
        return fail(f"expected exactly one child process; main created {len(run.workers())}")
    nones = [w for w, v in sends(run, child) if v == "None" and _from_main_thread(run, w)]
    if not nones:
        return fail("main never sent None through the pipe — send None last, so the child knows to stop")
    if child.end is not None and child.end < nones[0].t:
        return fail(
            f"the child {child.pid} had already ended at {run.since(child.end)} when main sent None at "
            f"{run.since(nones[0].t)}: it stopped before None — loop until conn.recv() returns None"
        )
    return ok(f"main sent None at {run.since(nones[0].t)} and the child {child.pid} ended after it")


child_exit = exits_zero(
    the_child,
    what="child",
    missing=lambda run: f"expected exactly one child process; main created {len(run.workers())}",
    expect="it to return normally once it got None (exit status 0)",
)


CHECKS = (
    Check("one_child", "main starts exactly one child process", 2, one_child),
    Check("got_in_order", "the child prints Got 1, 2, 3, each after main sent it through the pipe", 4, got_in_order),
    Check("got_none", "the child reads until main sends None", 1, got_none),
    Check(
        "joined",
        "main prints 'Pipe done.' after the child has exited",
        2,
        printed_after_exit(DONE, Run.workers, what="child", hint="print it after p.join()"),
    ),
    Check("child_exit", "the child exits with status 0", 1, child_exit),
    Check("nothing_left", "nothing is left running when main exits", 1, nothing_left_running(), tidy=True),
    Check("main_exit", "main exits with status 0", 1, exit_status(0), tidy=True),
)
