"""ex7 — threading.Lock: two threads deposit into one balance; a lock keeps every deposit.

Python-level reads and writes leave no trace, so the lock is judged by what it does to the trace: deposit()
as given sleeps (time.sleep(0)) between reading the balance and writing it back. Under one lock held by both
threads, no two deposits are ever inside that sleep at once; without it (or with a lock only one thread
takes) they overlap thousands of times. A program that prints the right number without guarding the
deposits fails here, whatever it prints.
"""

from __future__ import annotations

from grader.api import (
    Check,
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

BALANCE = Pattern("balance = <n>")
DEPOSITS = 10_000  # per thread
EXPECTED = DEPOSITS * (5 + 8)


def depositors(run: Run) -> list[Thread]:
    """The two threads of main's process, in creation order; empty when it ran any other number."""
    threads = run.threads()
    return threads if len(threads) == 2 else []


def _finished(t: Thread) -> float:
    return t.done if t.done is not None else t.end if t.end is not None else float("inf")


def overlapped(run: Run) -> tuple[Thread, Thread] | None:
    """The two threads, when the second started before the first had finished."""
    pair = sorted(depositors(run), key=lambda t: t.start or 0.0)
    if len(pair) == 2 and pair[1].start is not None and pair[1].start < _finished(pair[0]):
        return pair[0], pair[1]
    return None


def concurrent(run: Run) -> Verdict:
    pair = sorted(depositors(run), key=lambda t: t.start or 0.0)
    if len(pair) != 2:
        return fail(f"expected two threads to compare; main's process ran {len(run.threads())}")
    first, second = (thread_label(run, t.tid) for t in pair)
    if overlapped(run) is None:
        return fail(
            f"{second} started at {run.since(pair[1].start)}, after {first} had finished "
            f"({run.since(_finished(pair[0]))}): they ran one after the other — start both, then join both"
        )
    return ok(f"{first} and {second} ran at the same time ({second} started at {run.since(pair[1].start)})")


def lock_held(run: Run) -> Verdict:
    pair = overlapped(run)
    if pair is None:
        return fail("no evidence of a lock: the two threads never ran at the same time, so nothing needed guarding")
    few = [t for t in pair if t.sleeps < DEPOSITS]
    if few:
        t = few[0]
        return fail(
            f"{thread_label(run, t.tid)} paused inside only {t.sleeps} deposits; keep deposit() as the stub gives it "
            f"(its time.sleep(0) between reading and writing the balance) and call it {DEPOSITS} times per thread"
        )
    shared = max(t.sleeps_shared for t in pair)
    if shared:
        who = " and ".join(thread_label(run, t.tid) for t in pair)
        return fail(
            f"the deposits of {who} were inside deposit() at the same time {shared} times: each one's read-and-write "
            "was not guarded — both threads must hold the same threading.Lock around every deposit"
        )
    return ok(f"none of the {sum(t.sleeps for t in pair)} deposits of the two threads ever ran while the other's did")


def balance(run: Run) -> Verdict:
    main = run.main
    if main is None:
        return fail("the program never started")
    matches = run.find(BALANCE)
    mine = [m for m in matches if run.by_main_thread(m)]
    if not mine:
        by = sorted({writer_label(run, m) for m in matches})
        seen = f" (it was printed by {', '.join(by)})" if by else ""
        return fail(f"main thread {main.pid} never printed 'balance = {EXPECTED}'{seen}")
    got = mine[-1].int("n")
    if got != EXPECTED:
        return fail(
            f"main printed {mine[-1].line.text.strip()!r}; expected balance = {EXPECTED} "
            f"({DEPOSITS} deposits of 5 and {DEPOSITS} of 8): deposits were lost"
        )
    return ok(f"main printed 'balance = {EXPECTED}'")


CHECKS = (
    Check("two_threads", "main starts exactly two threads", 1, thread_count(2, what="two depositing threads")),
    Check("concurrent", "the two threads run at the same time", 2, concurrent),
    Check("lock_held", "no two deposits ever run at once (one lock, taken by both threads)", 3, lock_held),
    Check(
        "joined",
        "main prints the balance after both threads have finished",
        2,
        printed_after_threads_ended(BALANCE, depositors, hint="join both threads before printing"),
    ),
    Check("balance", f"the final balance is {EXPECTED}", 2, balance),
    Check("nothing_left", "nothing is left running when main exits", 1, nothing_left_running(), tidy=True),
    Check("main_exit", "main exits with status 0", 1, exit_status(0), tidy=True),
)
