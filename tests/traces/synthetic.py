"""Synthetic strace logs shaped like what the sandbox records, built to the trace limit: long process chains,
thousands of short-lived children, floods of matching lines, writev calls carrying many lines."""

from __future__ import annotations

MAIN = 100
PY = '"/usr/local/bin/python3"'
CLONE = "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f) = {child}"


class Log:
    """Trace lines with a clock that moves on by one microsecond per line, up to `limit` bytes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self.t = 1000.0
        self.out: list[str] = []

    def add(self, pid: int, text: str) -> None:
        self.t += 1e-6
        line = f"{pid} {self.t:.6f} {text}\n"
        self.size += len(line)
        self.out.append(line)

    @property
    def full(self) -> bool:
        return self.size > self.limit - 4096

    def write(self, pid: int, text: str, fd: int = 1) -> None:
        data = text.encode().decode("unicode_escape") if "\\" in text else text
        self.add(pid, f'write({fd}, "{text}", {len(data.encode())}) = {len(data.encode())}')

    def start(self) -> None:
        self.add(MAIN, f'execve({PY}, ["python3", "/tmp/solution.py"], 0x1 /* 7 vars */) = 0')

    def fork(self, parent: int, child: int) -> None:
        self.add(parent, CLONE.format(child=child))

    def exit(self, pid: int, code: int = 0) -> None:
        self.add(pid, f"exit_group({code}) = ?")
        self.add(pid, f"+++ exited with {code} +++")

    def reap(self, parent: int, child: int) -> None:
        self.add(parent, f"wait4({child}, [{{WIFEXITED(s) && WEXITSTATUS(s) == 0}}], 0, NULL) = {child}")

    def text(self) -> str:
        return "".join(self.out)


def chain(generations: int, limit: int = 32 << 20) -> str:
    """main -> child -> grandchild -> ... `generations` deep; each waits for the next, then exits."""
    log = Log(limit)
    log.start()
    pids = list(range(MAIN, MAIN + generations + 1))
    for parent, child in zip(pids, pids[1:], strict=False):
        log.fork(parent, child)
        log.write(child, f"generation {child - MAIN}\\n")
    for parent, child in reversed(list(zip(pids, pids[1:], strict=False))):
        log.exit(child)
        log.reap(parent, child)
    log.exit(MAIN)
    return log.text()


def _pool(log: Log, workers: list[int]) -> None:
    log.start()
    log.write(MAIN, f"Parent process {MAIN}.\\n")
    log.write(MAIN, "Waiting for all subprocesses done...\\n")
    for w in workers:
        log.fork(MAIN, w)


def _pool_end(log: Log, workers: list[int]) -> None:
    for w in workers:
        log.exit(w)
        log.reap(MAIN, w)
    log.write(MAIN, "All subprocesses done.\\n")
    log.exit(MAIN)


def task_flood(limit: int = 32 << 20, workers: int = 4) -> str:
    """ex3's worst case: every worker prints `Run task 0` and `Task 0 runs` lines until the trace is full."""
    log = Log(limit)
    pids = list(range(MAIN + 1, MAIN + 1 + workers))
    _pool(log, pids)
    i = 0
    while not log.full:
        w = pids[i % workers]
        log.write(w, f"Run task 0 ({w})...\\n")
        log.write(w, "Task 0 runs 0.50 seconds.\\n")
        i += 1
    _pool_end(log, pids)
    return log.text()


def many_children(limit: int = 32 << 20) -> str:
    """Short-lived children, one after the other, each printing a line, until the trace is full."""
    log = Log(limit)
    log.start()
    child = MAIN
    while not log.full:
        child += 1
        log.fork(MAIN, child)
        log.write(child, f"Run task 1 ({child})...\\n")
        log.exit(child)
        log.reap(MAIN, child)
    log.exit(MAIN)
    return log.text()


def writev_flood(limit: int = 32 << 20, per_call: int = 1000) -> str:
    """Main prints many short lines per `writev` call (the 700,000-line attack), until the trace is full."""
    log = Log(limit)
    log.start()
    iov = ", ".join(['{iov_base="x\\n", iov_len=2}'] * per_call)
    while not log.full:
        log.add(MAIN, f"writev(1, [{iov}], {per_call}) = {2 * per_call}")
    log.exit(MAIN)
    return log.text()


def long_line(limit: int = 32 << 20) -> str:
    """One line with no newline, written 4096 bytes at a time, until the trace is full."""
    log = Log(limit)
    log.start()
    chunk = "y" * 4096
    while not log.full:
        log.add(MAIN, f'write(1, "{chunk}", 4096) = 4096')
    log.exit(MAIN)
    return log.text()


def kill_storm(limit: int = 32 << 20) -> str:
    """Main signals its child over and over, and probes pids that do not exist, until the trace is full."""
    log = Log(limit)
    log.start()
    child = MAIN + 1
    log.fork(MAIN, child)
    info = f"si_signo=SIGUSR1, si_code=SI_USER, si_pid={MAIN}, si_uid=61000"
    i = 0
    while not log.full:
        i += 1
        log.add(MAIN, f"kill({child}, SIGUSR1) = 0")
        log.add(child, f"--- SIGUSR1 {{{info}}} ---")
        log.add(MAIN, f"kill({200 + i % 30000}, SIGKILL) = -1 ESRCH (No such process)")
    log.add(MAIN, f"kill({child}, SIGTERM) = 0")
    log.add(child, "+++ killed by SIGTERM +++")
    log.reap(MAIN, child)
    log.exit(MAIN)
    return log.text()


SCENARIOS = {
    "chain": lambda: chain(60_000),
    "task_flood": task_flood,
    "many_children": many_children,
    "writev_flood": writev_flood,
    "long_line": long_line,
    "kill_storm": kill_storm,
}
