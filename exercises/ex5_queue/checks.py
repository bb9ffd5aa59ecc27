"""ex5 — Queue: a writer and a reader process exchange A, B, C through a multiprocessing.Queue."""

from __future__ import annotations

import re

from grader.api import (
    Match,
    Pattern,
    Proc,
    Run,
    Verdict,
    exit_status,
    exits_zero,
    fail,
    killed_by,
    names,
    ok,
    pickled_message,
    printed,
)

WRITE = Pattern("Process to write: <pid>")
READ = Pattern("Process to read: <pid>")
PUT = Pattern("Put <v> to queue...", text=["v"])
# the course notes print `from eue.` (a typo): copying them is not an error
GET = Pattern("Get <v> from queue.", text=["v"], also=["Get <v> from eue."])
VALUES = ["A", "B", "C"]
# a value put this close before main terminated the (finished writer's) reader may still be in the pipe
IN_FLIGHT_S = 0.2
BUSY = ("running", "stopped")  # what the sandbox reports for a process that was not waiting
# a process killed inside one of these was asleep: not waiting on the queue, not handling a value
SLEEPS = ("clock_nanosleep", "nanosleep")


def _value(m: Match) -> str:
    return m.values.get("v", "").strip().strip("'\"").upper()


def gets(run: Run) -> list[Match]:
    return sorted(run.find(GET), key=lambda m: m.line.t)


def _role(run: Run, matches: list[Match], exclude: Proc | None = None) -> Proc | None:
    """The first worker process that printed one of `matches`."""
    workers = {p.pid: p for p in run.workers() if p is not exclude}
    return next((workers[m.line.pid] for m in sorted(matches, key=lambda m: m.line.t) if m.line.pid in workers), None)


def writer(run: Run) -> Proc | None:
    return _role(run, run.find(WRITE) + run.find(PUT))


def reader(run: Run) -> Proc | None:
    return _role(run, run.find(READ) + gets(run), exclude=writer(run))


def unstarted_reader(run: Run) -> Proc | None:
    """The reader that lost the course program's race before it printed anything: the one child besides the
    writer, terminated by main after the writer had ended, not asleep. On a busy machine its start can take
    longer than the whole writer (spawn starts a new interpreter): nothing then shows what it would have done."""
    w, main = writer(run), run.main
    others = [p for p in run.workers() if p is not w]
    if w is None or w.end is None or main is None or reader(run) is not None or len(others) != 1:
        return None
    r = others[0]
    stopped = _terminated_at(run, r)
    started_late = r.signal == "SIGTERM" and r.signal_sender == main.pid and stopped is not None and w.end <= stopped
    return r if started_late and r.blocked_in not in SLEEPS and not run.tree.lines_of(r.pid) else None


def _lost_start(run: Run, r: Proc) -> Verdict:
    w = writer(run)
    late = w is not None and w.end is not None and r.start is not None and r.start >= w.end
    fix = (
        f"main created the reader only after the writer {w.pid} had ended: start both before pw.join()"
        if late and w is not None
        else "pw.join(); pr.terminate() leaves the reader no time of its own"
    )
    return fail(
        f"the reader {r.pid} printed nothing before main terminated it, after the writer had ended: the course "
        f"program's own race, lost ({fix})",
        race=True,
    )


def _threads_hint(run: Run) -> str:
    main = run.main
    if main is None or not main.threads:
        return ""
    return (
        f"; main ran {len(main.threads)} thread(s) instead — threads share main's process: use multiprocessing.Process"
    )


def two_children(run: Run) -> Verdict:
    main = run.main
    if main is None:
        return fail("the program never started")
    workers = run.workers()
    seen = f"main process {main.pid} created {len(workers)} child process(es) ({names(workers)})"
    if len(workers) != 2:
        return fail(f"{seen}; expected exactly 2, a writer and a reader{_threads_hint(run)}")
    stray = [p for p in workers if not run.created_for_main(p)]
    if stray:
        return fail(f"{seen}, but {names(stray)} was not created by main; start both Processes from main")
    via = sorted({p.parent for p in workers if p.parent is not None} - {main.pid})
    forkserver = f", forked for it by its forkserver {', '.join(map(str, via))}" if via else ""
    return ok(f"{seen}{forkserver}: a writer and a reader")


def _who(run: Run, pids: list[int]) -> str:
    if run.main is not None and pids == [run.main.pid]:
        return f"main process {run.main.pid} itself"
    return "process " + ", ".join(map(str, pids))


def _pid_line(run: Run, pattern: Pattern, who: Proc | None, role: str) -> Verdict:
    if who is not None:
        return printed(run, pattern, who, {"pid": (who.pid, "its real PID")}, who=role)
    by = sorted({m.line.pid for m in run.find(pattern)})
    where = f"it was printed by {_who(run, by)}, not by a child process" if by else "no such line"
    return fail(f"no {role} child process printed {str(pattern)!r} ({where}){_threads_hint(run)}")


def printed_pids(run: Run) -> Verdict:
    if (late := unstarted_reader(run)) is not None:
        return _lost_start(run, late)
    for pattern, who, role in ((WRITE, writer(run), "writer"), (READ, reader(run), "reader")):
        verdict = _pid_line(run, pattern, who, role)
        if not verdict.passed:
            return verdict
    return ok(f"the writer ({writer(run).pid}) and the reader ({reader(run).pid}) printed their real PIDs")  # type: ignore[union-attr]


def sent(run: Run, w: Proc | None, r: Proc | None) -> dict[str, float]:
    """Value -> when the writer first sent it, as a pickled message, into a pipe whose read end the reader
    holds: what q.put() does (its feeder thread writes into the pipe under the Queue, which both processes
    were given). Printing 'Put A' is not sending A."""
    out: dict[str, float] = {}
    if w is None or r is None:
        return out
    for pipe in run.tree.pipes.values():
        if r.pid not in pipe.readers:
            continue
        for write in pipe.writes:
            payload = pickled_message(write.head) if write.pid == w.pid else None
            for v in VALUES if payload is not None else ():
                if re.search(rf"(?<![A-Za-z]){v}(?![A-Za-z])", payload or "", re.I) and write.t < out.get(v, 1e300):
                    out[v] = write.t
    return out


def _not_sent(run: Run, r: Proc, w: Proc | None, got: list[Match], through: dict[str, float]) -> Verdict | None:
    """A failure when the reader printed a value that never travelled to it through a pipe (no Queue at all,
    or printed before it was sent), else None."""
    writer = f"the writer {w.pid}" if w is not None else "no writer"
    for m in got:
        v = _value(m)
        if v not in through:
            return fail(
                f"the reader {r.pid} printed {m.line.text.strip()!r}, but {writer} never sent {v!r} through a pipe "
                "the reader could read (q.put() sends each value through the pipe under the Queue) — pass the values "
                "with a "
                "multiprocessing.Queue: q.put(value) in the writer, q.get(True) in the reader"
            )
        if m.line.t < through[v]:
            return fail(
                f"the reader {r.pid} printed {m.line.text.strip()!r} {through[v] - m.line.t:.3f}s before {writer} "
                f"sent {v!r} through the queue's pipe — print only values really taken from the queue with q.get()"
            )
    return None


def got_in_order(run: Run) -> Verdict:
    w, r, main = writer(run), reader(run), run.main
    if (late := unstarted_reader(run)) is not None:
        return _lost_start(run, late)
    if r is None or main is None:
        by = sorted({m.line.pid for m in gets(run)})
        where = f" (the Get lines came from {_who(run, by)}, not from a child process)" if by else ""
        return fail(f"no reader child process printed 'Get <v> from queue.'{where}")
    got = [m for m in gets(run) if m.line.pid == r.pid]
    values = [_value(m) for m in got]
    puts = {_value(m): m.line.t for m in run.find(PUT) if w is not None and m.line.pid == w.pid}
    through = sent(run, w, r)
    in_flight = _in_flight(w, r, values, puts, through, _terminated_at(run, r))
    if values != VALUES and not in_flight:
        shown = ", ".join(values) or "nothing"
        if values == VALUES[: len(values)] and r.signal == "SIGTERM":
            return fail(
                f"the reader {r.pid} got only {shown} before process {r.signal_sender} terminated it; expected A, B, C "
                f"— {_missing_hint(w, r, VALUES[len(values) :], puts)}",
                race=_raced(run, w, r, values, puts, through),
            )
        return fail(f"the reader {r.pid} got {shown}; expected A, B, C in that order")
    for m in got:
        v = _value(m)
        if v not in puts:
            return fail(f"the writer never printed 'Put {v} to queue...' (print it, then q.put({v!r}))")
        if m.line.t < puts[v]:
            return fail(
                f"the reader {r.pid} printed {m.line.text.strip()!r} {puts[v] - m.line.t:.3f}s before the writer "
                f"printed 'Put {v} to queue...' — print only values really taken from the queue with q.get()"
            )
    if (unsent := _not_sent(run, r, w, got, through)) is not None:
        return unsent
    if in_flight:
        return ok(
            f"the reader {r.pid} got {', '.join(values)} in order; {in_flight} — the course program's own race, "
            "not counted against you"
        )
    return ok(f"the reader {r.pid} got A, B, C in order, each after the writer put it")


def _terminated_at(run: Run, r: Proc) -> float | None:
    """When main's call to terminate the reader was made (its kill), else when the reader died: the race is
    between the writer's last put and main's terminate(), not the reader's death, which a loaded machine may
    delay by the scheduling of a dying process."""
    main = run.main
    sent = [
        k.t for k in run.tree.kills if main and k.sender == main.pid and k.target == r.pid and k.signal == "SIGTERM"
    ]
    return min(sent) if sent else r.end


def _in_flight(
    w: Proc | None,
    r: Proc,
    values: list[str],
    puts: dict[str, float],
    through: dict[str, float],
    stopped: float | None,
) -> str:
    """The values the reader could not have taken yet: the writer had ended, then main terminated the reader
    within IN_FLIGHT_S of putting each one. The course program itself (pw.join(); pr.terminate()) loses C
    this way when the writer's last random sleep is near 0. Empty when something else is missing, or when the
    reader got nothing at all (then nothing shows that it reads)."""
    missing = VALUES[len(values) :]
    if not values or not missing or values != VALUES[: len(values)] or r.signal != "SIGTERM" or r.end is None:
        return ""
    if _asleep_with_values_ready(r, missing, puts):  # a dawdling reader, not the race: it was not waiting for them
        return ""
    if w is None or w.end is None or w.end > r.end:
        return ""
    stop = stopped if stopped is not None else r.end
    if not all(v in puts and v in through and stop - puts[v] < IN_FLIGHT_S for v in missing):
        return ""
    last = max(puts[v] for v in missing)
    return (
        f"{', '.join(missing)} {'was' if len(missing) == 1 else 'were'} still in the queue: put "
        f"{stop - last:.3f}s before main terminated the reader, "
        f"after the writer {w.pid} had ended"
    )


def _raced(
    run: Run, w: Proc | None, r: Proc, values: list[str], puts: dict[str, float], through: dict[str, float]
) -> bool:
    """The reader got only some values and the course program's own race explains the rest: the writer had
    ended and sent each missing value through the queue's pipe before main terminated the reader, which was not
    asleep (it was waiting in q.get() or handling the previous value, slowed by a busy machine). Too late for the
    in-flight excuse, not the program's fault either: such a run is graded again, never passed."""
    main, stopped = run.main, _terminated_at(run, r)
    missing = VALUES[len(values) :]
    if main is None or w is None or w.end is None or stopped is None or r.signal_sender != main.pid:
        return False
    sent_all = all(v in through and through[v] <= stopped for v in missing)
    return bool(missing) and w.end <= stopped and sent_all and not _asleep_with_values_ready(r, missing, puts)


def _missing_hint(w: Proc | None, r: Proc, missing: list[str], puts: dict[str, float]) -> str:
    """What to change when the reader was terminated before taking every value."""
    writer_done = w is not None and w.end is not None and r.end is not None and w.end <= r.end
    if not writer_done or w is None:
        return "wait for the writer with pw.join() before pr.terminate()"
    asleep = _asleep_with_values_ready(r, missing, puts)
    return (
        f"the writer {w.pid} had already finished, so the rest waited in the queue"
        + (f"; {asleep}" if asleep else "")
        + ": keep taking values with q.get() in a loop"
        + (", without sleeping in between" if asleep else "")
    )


def _asleep_with_values_ready(r: Proc, missing: list[str], puts: dict[str, float]) -> str:
    """Why the missing values are the reader's own fault when it was terminated asleep (time.sleep) with
    some of them already put: the course program's reader is, at that moment, waiting in q.get() or printing
    the previous value, never asleep. Decided by the call the signal interrupted, not by a time window."""
    if r.blocked_in not in SLEEPS or r.end is None:
        return ""
    ready = [v for v in missing if v in puts and puts[v] <= r.end]
    return (
        f"it was asleep (in {r.blocked_in}) when the signal came, while {', '.join(ready)} had been put and "
        "waited for it"
        if ready
        else ""
    )


writer_exit = exits_zero(
    writer,
    what="the writer",
    missing=lambda run: "no writer child process to check (it prints 'Process to write: <pid>')",
    expect="it to finish its loop and exit with status 0",
)


def _stuck(run: Run, p: Proc) -> bool:
    return p.end is None or run.grader_killed(p)


def _reader_or_unstarted(run: Run) -> Proc | None:
    return reader(run) or unstarted_reader(run)


def reader_terminated(run: Run) -> Verdict:
    r, main = _reader_or_unstarted(run), run.main
    if r is None or main is None:
        return fail("no reader child process to check (it prints 'Process to read: <pid>')")
    verdict = killed_by(_reader_or_unstarted, "SIGTERM", lambda run: run.main, what="the reader")(run)
    if verdict.passed:
        return verdict
    if _stuck(run, r):
        last = run.tree.lines_of(r.pid)
        after = f" after its last line {last[-1].text.strip()!r}" if last else ""
        # the sandbox may report what each live process was doing (/proc/PID/syscall) when it stopped the run
        doing = run.outcome.blocked.get(r.pid)
        state = (
            f"still running ({doing}), not waiting on the queue,"
            if doing and doing.startswith(BUSY)
            else "still blocked on the queue — waiting in q.get(True)" + (f" ({doing})" if doing else "")
        )
        waiting = f"; main {main.pid} was blocked in {main.blocked_in} waiting for it" if main.blocked_in else ""
        return fail(
            f"the reader {r.pid} was {state}{after} when the grader stopped the run "
            f"({run.outcome.kill_reason}){waiting}. Nothing ends that loop: call pr.terminate() after pw.join()"
        )
    if r.signal == "SIGTERM":
        return fail(
            f"the reader {r.pid} was killed by SIGTERM sent by {r.signal_sender}, not by main process {main.pid}"
        )
    return fail(
        f"the reader {r.pid} {r.describe_end()}; expected main process {main.pid} to stop it with pr.terminate() "
        "(SIGTERM) — the reader loops forever on q.get(True)"
    )


def main_exit(run: Run) -> Verdict:
    main = run.main
    if main is not None and _stuck(run, main):
        blocked = f" (blocked in {main.blocked_in})" if main.blocked_in else ""
        alive = [p for p in run.workers() if _stuck(run, p)]
        why = f": at exit multiprocessing waits for child {names(alive)}, which never ended" if alive else ""
        return fail(f"main process {main.pid} never finished{blocked}{why}")
    return exit_status(0)(run)
