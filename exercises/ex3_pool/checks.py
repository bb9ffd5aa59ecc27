"""ex3 — multiprocessing.Pool(4): five tasks on four reused workers, main waits for the whole pool."""

from __future__ import annotations

import bisect

from grader.api import (
    Match,
    Pattern,
    Proc,
    Run,
    Verdict,
    fail,
    main_prints,
    names,
    ok,
    pickled_message,
    printed_after_exit,
)

PARENT = Pattern("Parent process <pid>.")
WAITING = Pattern("Waiting for all subprocesses done...")
RUN = Pattern("Run task <i> (<pid>)...")
RAN = Pattern("Task <i> runs <t> seconds.", text=["t"])
DONE = Pattern("All subprocesses done.")
TASKS = range(5)
WORKERS = 4


def pool_workers(run: Run) -> list[Proc]:
    # Pool workers run the student's code; the resource tracker and forkserver do not, and threads are not processes
    return [p for p in run.workers() if run.created_for_main(p)]


def origin(run: Run, procs: list[Proc]) -> str:
    """Where the workers came from, so forkserver grandchildren are not mistaken for strangers."""
    parents = sorted({p.parent for p in procs if p.parent is not None and run.main and p.parent != run.main.pid})
    if not parents:
        return ""
    return f" (started for main through multiprocessing's forkserver {', '.join(map(str, parents))})"


def task_runs(run: Run) -> tuple[dict[int, list[Match]], dict[int, list[Match]]]:
    """Task number -> its `Run task` lines and its `Task ... runs` lines."""
    starts: dict[int, list[Match]] = {}
    ends: dict[int, list[Match]] = {}
    for pattern, into in ((RUN, starts), (RAN, ends)):
        for m in run.find(pattern):
            if (i := m.int("i")) is not None:
                into.setdefault(i, []).append(m)
    return starts, ends


def four_workers(run: Run) -> Verdict:
    main = run.main
    if main is None:
        return fail("the program never started")
    workers = pool_workers(run)
    seen = f"main process {main.pid} had {len(workers)} worker processes ({names(workers)}){origin(run, workers)}"
    if len(workers) == WORKERS:
        return ok(f"{seen}; expected {WORKERS}")
    if not workers:
        return fail(f"{seen} — create the pool with Pool({WORKERS}) and hand it the tasks (apply_async, map, ...)")
    return fail(f"{seen}; expected exactly {WORKERS} — create the pool with Pool({WORKERS})")


# what to do about each kind of problem a task run can show, in the order they are reported
ADVICE = {
    "count": "submit each of tasks 0 to 4 exactly once (for i in range(5))",
    "main": "hand each task to the pool (p.apply_async(long_time_task, args=(i,)) or p.map) instead of calling it",
    "stranger": "let the pool's own workers run the tasks",
    "pid": "print os.getpid() inside the task, which runs in the worker",
    "cut": "call p.close() then p.join() so the pool finishes every task (leaving `with Pool(...)` terminates it)",
}


def terminated(run: Run, workers: dict[int, Proc]) -> bool:
    """The pool was stopped by a signal (terminate(), or leaving a `with Pool` block) rather than closed."""
    return any(w.signal is not None and not run.grader_killed(w) for w in workers.values())


def task_problem(run: Run, i: int, lines: list[Match], ends: list[Match], workers: dict[int, Proc]) -> tuple[str, str]:
    """(kind, description) of what is wrong with task i's run, or ("", "") when it ran right."""
    main_pid = run.main.pid if run.main else -1
    if not lines:
        if terminated(run, workers):
            return "cut", f"task {i} never started: the pool was terminated first"
        return "count", f"task {i} never printed 'Run task {i} (<pid>)...'"
    if len(lines) > 1:
        return "count", f"task {i} printed 'Run task {i} (<pid>)...' {len(lines)} times (by {names_of(lines)})"
    m = lines[0]
    pid = m.line.pid
    if pid == main_pid:
        return "main", f"task {i} ran in main process {pid} itself, not in a pool worker"
    if pid not in workers:
        return "stranger", f"task {i} ran in process {pid}, not one of main's pool workers ({names(workers.values())})"
    if m.int("pid") != pid:
        # worded without the worker's PID, so that five such tasks read as one problem
        if m.int("pid") == main_pid:
            return "pid", f"task {i} printed PID {main_pid}, which is main's, not the PID of the worker running it"
        if m.int("pid") == workers[pid].parent:  # forkserver: os.getppid() in a worker is the forkserver
            return (
                "pid",
                f"task {i} printed the PID of the forkserver (its worker's parent), not the worker's own PID",
            )
        return "pid", f"task {i} printed PID {m.values.get('pid')} but ran in worker {pid}"
    if not any(e.line.pid == pid and e.line.t >= m.line.t for e in ends):
        w = workers[pid]
        if w.signal is not None and w.signal_sender == main_pid:  # worded without PIDs: grouped with its like
            return (
                "cut",
                f"task {i} was cut off by {w.signal} from main ({main_pid}) while still running",
            )
        how = f", and worker {pid} {w.describe_end()} at {run.since(w.end)}" if w.signal or not w.ended else ""
        return "cut", f"task {i} started in worker {pid} but never printed 'Task {i} runs <t> seconds.'{how}"
    return "", ""


def grouped(problems: list[str]) -> list[str]:
    """'task 1 X', 'task 2 X' -> 'tasks 1, 2 X': five identical problems read as one."""
    by_rest: dict[str, list[str]] = {}
    for text in problems:
        _, i, rest = text.split(" ", 2)
        by_rest.setdefault(rest, []).append(i)
    plural = {rest: rest.replace("was ", "were ", 1) if rest.startswith("was ") else rest for rest in by_rest}
    return [
        f"task {ids[0]} {rest}" if len(ids) == 1 else f"tasks {', '.join(ids)} {plural[rest]}"
        for rest, ids in by_rest.items()
    ]


def names_of(lines: list[Match]) -> str:
    return ", ".join(str(m.line.pid) for m in lines)


def tasks_once(run: Run) -> Verdict:
    if run.main is None:
        return fail("the program never started")
    workers = {p.pid: p for p in pool_workers(run)}
    starts, ends = task_runs(run)
    found = [task_problem(run, i, starts.get(i, []), ends.get(i, []), workers) for i in TASKS]
    problems = grouped([text for kind, text in found if kind])
    if problems:
        kinds = {kind for kind, _ in found if kind}
        advice = "; ".join(text for kind, text in ADVICE.items() if kind in kinds)
        return fail("; ".join(problems) + f" — {advice}")
    placed = ", ".join(f"{i}→{starts[i][0].line.pid}" for i in TASKS)
    return ok(f"each task ran once, to the end, in a pool worker (task→worker: {placed})")


def intervals(run: Run) -> list[tuple[float, float, int, int]]:
    """(start, end, task, pid) of every task run, ended by its own `Task ... runs` line (or its worker's end).

    Sorted end times per (task, worker) and a binary search: linear-logarithmic, however many lines a
    program prints (a nested scan took minutes for 20,000 + 20,000 lines)."""
    _, ends = task_runs(run)
    by_worker: dict[tuple[int, int], list[float]] = {}
    for task, found in ends.items():
        for e in found:
            by_worker.setdefault((task, e.line.pid), []).append(e.line.t)
    for times in by_worker.values():
        times.sort()
    out = []
    for m in run.find(RUN):
        number, pid = m.int("i"), m.line.pid
        task = number if number is not None else -1
        times = by_worker.get((task, pid), [])
        k = bisect.bisect_left(times, m.line.t)
        proc = run.proc(pid)
        end = times[k] if k < len(times) else (proc.end if proc and proc.end is not None else m.line.t)
        out.append((m.line.t, end, task, pid))
    return out


def at_most_four(run: Run) -> Verdict:
    spans = intervals(run)
    if not spans:
        return fail(f"no task printed {str(RUN)!r}")
    # sweep: an end at the same instant as a start is counted first (a worker finishing one task and taking the next)
    events = sorted(
        [(s, 1, task, pid) for s, _, task, pid in spans] + [(e, -1, task, pid) for _, e, task, pid in spans],
        key=lambda ev: (ev[0], ev[1]),
    )
    running: dict[int, int] = {}
    peak: dict[int, int] = {}
    at = 0.0
    for t, step, task, pid in events:
        if step > 0:
            running[task] = pid
            if len(running) > len(peak):
                peak, at = dict(running), t
        else:
            running.pop(task, None)
    if len(peak) <= WORKERS:
        return ok(f"at most {len(peak)} task(s) ran at the same time (the pool allows {WORKERS})")
    busy = ", ".join(f"task {task} in {pid}" for task, pid in sorted(peak.items()))
    return fail(
        f"{len(peak)} tasks ran at the same time at {run.since(at)} ({busy}); "
        f"a Pool({WORKERS}) runs at most {WORKERS} at once"
    )


def _is_task_message(head: str) -> bool:
    """A pickled object other than None sent through a Connection: the pool's stop sentinels (None), its
    wake-ups (empty messages), the resource tracker's text and spawn's raw preparation pickles are not tasks."""
    payload = pickled_message(head)
    return payload is not None and payload[2:] not in ("N.", "")


def task_sends(run: Run) -> list[float]:
    """When main handed the pool each task: main's messages into the pipe it sent the most of them into
    (the pool's task queue; apply_async, map, imap and ProcessPoolExecutor all send through one)."""
    main = run.main
    if main is None:
        return []
    best: list[float] = []
    for pipe in run.tree.pipes.values():
        sent = [w.t for w in pipe.writes if w.pid == main.pid and _is_task_message(w.head)]
        if len(sent) > len(best):
            best = sent
    return sorted(best)


def at_once(run: Run) -> Verdict:
    """Several tasks were in the pool together: handed out before the earlier ones had finished. Decided by
    when main sent each task and when tasks printed their last line, never by how long a task slept: apply()
    in a loop sends task k+1 only after task k returned, whatever the sleeps; apply_async and map send all."""
    main = run.main
    if main is None:
        return fail("the program never started")
    sends = task_sends(run)
    if len(sends) < 2 and terminated(run, {p.pid: p for p in pool_workers(run)}):
        # the pool was stopped before a second task was due: nothing shows tasks handed out one at a time
        # (tasks_once says what was cut off); how many were sent first is a race, so it never decides here
        return ok(f"main sent {len(sends)} task(s) before the pool was terminated: none was held back for another")
    if not sends:
        return fail(
            "main never sent a task into the pool's task queue — hand the pool the tasks with "
            "p.apply_async(long_time_task, args=(i,)) or p.map(long_time_task, range(5))"
        )
    ends = sorted(m.line.t for m in run.find(RAN) if m.line.pid != main.pid)
    peak, at, done = 0, sends[0], 0
    for sent, t in enumerate(sends, start=1):
        while done < len(ends) and ends[done] < t:
            done += 1
        if sent - done > peak:
            peak, at = sent - done, t
    if peak >= 2:
        return ok(
            f"main had {peak} tasks in the pool at once at {run.since(at)} (sent before the earlier ones finished; "
            f"{len(sends)} sent in all)"
        )
    return fail(
        f"main sent the pool its {len(sends)} task(s) one at a time, each only after the previous one had printed "
        f"{str(RAN)!r}, so the pool never had more than 1 task to run — the point of Pool({WORKERS}) is that "
        f"{WORKERS} tasks run at once: submit them all with apply_async (or map) before waiting, not with apply()"
    )


def reused(run: Run) -> Verdict:
    workers = {p.pid for p in pool_workers(run)}
    per: dict[int, list[int]] = {}
    for m in run.find(RUN):
        if m.line.pid in workers and (i := m.int("i")) is not None:
            per.setdefault(m.line.pid, []).append(i)
    if not per:
        return fail(f"no pool worker printed {str(RUN)!r}")
    busiest = max(per, key=lambda pid: len(per[pid]))
    tally = "; ".join(f"{pid}: {', '.join(map(str, per[pid]))}" for pid in sorted(per))
    if len(per[busiest]) >= 2:
        return ok(f"worker {busiest} ran {len(per[busiest])} tasks, so the pool reused it (tasks per worker — {tally})")
    return fail(
        f"no worker ran more than one task (tasks per worker — {tally}); "
        f"with Pool({WORKERS}) and 5 tasks one worker must take a second task"
    )


parent_lines = main_prints(PARENT, WAITING, hint="print it before p.close() and p.join()")
done_line = printed_after_exit(DONE, pool_workers, what="worker", hint="print it after p.close() and p.join()")
