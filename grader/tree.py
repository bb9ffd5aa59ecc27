"""The process tree rebuilt from a trace: processes, their threads, execs, ends, lines, kills, pipes.

Walks never recurse (a student's process chain may be thousands of generations deep) and the per-process
lookups (children, lines) are indexed once, so judging stays linear in the size of the trace.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, PrivateAttr


class Exec(BaseModel):
    t: float
    path: str
    argv: list[str]
    ok: bool


class SignalEvent(BaseModel):
    t: float
    signal: str
    sender: int | None = None
    code: str = ""


class Proc(BaseModel):
    """One process (a thread group); its threads are listed, not counted as processes."""

    pid: int
    parent: int | None = None
    # the process whose fork/clone made it: its parent, except after clone(CLONE_PARENT), which gives the
    # child its creator's parent (for main: a process outside the trace, so the child is attributed to main)
    creator: int | None = None
    how: str = "root"
    start: float | None = None
    end: float | None = None
    execs: list[Exec] = Field(default_factory=list)
    exit_code: int | None = None
    signal: str | None = None
    signal_sender: int | None = None
    core_dumped: bool = False
    reaped_by: int | None = None
    threads: list[int] = Field(default_factory=list)
    blocked_in: str | None = None
    signals: list[SignalEvent] = Field(default_factory=list)
    stdin: str | None = None
    stdin_creator: int | None = None

    @property
    def program(self) -> str | None:
        ok = [e for e in self.execs if e.ok]
        return ok[-1].path if ok else None

    @property
    def ended(self) -> bool:
        return self.exit_code is not None or self.signal is not None

    def describe_end(self) -> str:
        if self.exit_code is not None:
            return f"exited with {self.exit_code}"
        if self.signal is not None:
            by = f" sent by {self.signal_sender}" if self.signal_sender else ""
            return f"killed by {self.signal}{by}"
        return "still running" + (f" (blocked in {self.blocked_in})" if self.blocked_in else "")


class Thread(BaseModel):
    """A thread other than a process's main one (clone with CLONE_THREAD): who made it, when it ran, and the
    names it gave itself (prctl PR_SET_NAME; the program chooses them, so they only label what the trace
    shows, they never decide who did what). Threads are never counted as processes."""

    tid: int
    pid: int  # the process (thread group) it belongs to
    creator: int  # the thread whose clone() made it
    start: float | None = None
    end: float | None = None
    names: list[str] = Field(default_factory=list)
    blocked_in: str | None = None  # the call it was in when the trace ended, if it never returned
    # when its last traced call (other than exit) returned: join() returns once the thread has released its
    # state lock, a moment before the thread's exit reaches the trace, so this is when it was done
    done: float | None = None
    # its sleep calls (time.sleep), and how many of them ran while another thread of its process was asleep
    # too: a thread that sleeps only while holding a lock the others need never shares a sleep
    sleeps: int = 0
    sleeps_shared: int = 0

    @property
    def name(self) -> str | None:
        return self.names[-1] if self.names else None


class Line(BaseModel):
    """A line a process wrote to the real stdout (fd object 'stdout') or stderr, and the thread that wrote it
    (tid == pid: the process's main thread; None in reports stored before threads were traced)."""

    pid: int
    t: float
    stream: str
    text: str
    cut: int = 0  # characters past the kept length (LINE_CHARS in trace.py): a cut line matches no pattern
    tid: int | None = None


class Kill(BaseModel):
    t: float
    sender: int
    target: int
    signal: str
    ok: bool
    finished: bool = True  # False: the sender died inside the call (a self-kill never returns)


class PipeWrite(BaseModel):
    """One write into a pipe: when (the call's start), by which process, and its first bytes."""

    t: float
    pid: int
    head: str
    tid: int | None = None  # the thread that wrote (a Queue's feeder thread, or the process's main thread)


class Pipe(BaseModel):
    """A pipe, or one direction of a socketpair (multiprocessing.Pipe()'s duplex connection is two)."""

    id: int
    creator: int
    kind: str = "pipe"  # or "socketpair"
    t: float | None = None  # when it was created (the pipe() call's start)
    written_by: list[int] = Field(default_factory=list)
    data: str = ""
    # the first PIPE_WRITES_KEPT writes, in order: enough to see tasks or values travel, bounded for a flood
    writes: list[PipeWrite] = Field(default_factory=list)
    # processes that still held its read end when they (or the trace) ended: who could read what was written
    readers: list[int] = Field(default_factory=list)
    # processes that held its read end at some time (closed it, or still held it at their end): a child that
    # closes its Connection before exiting read the pipe all the same
    held_by: list[int] = Field(default_factory=list)


PIPE_WRITES_KEPT = 64
PIPE_HEAD_KEPT = 64


class Tree(BaseModel):
    root: int | None = None
    procs: dict[int, Proc] = Field(default_factory=dict)
    threads: dict[int, Thread] = Field(default_factory=dict)  # tid -> thread, main threads left out
    lines: list[Line] = Field(default_factory=list)
    kills: list[Kill] = Field(default_factory=list)
    pipes: dict[int, Pipe] = Field(default_factory=dict)
    failed_forks: int = 0
    untraced: list[int] = Field(default_factory=list)
    truncated: bool = False
    end_time: float | None = None
    problems: list[str] = Field(default_factory=list)
    # what was not kept, so reports can say so: lines per process past the caps in trace.py
    lines_dropped: dict[int, int] = Field(default_factory=dict)
    # bytes the trace saw written to the real stdout/stderr (returned by write/writev), and the most that
    # may have reached them (adding calls whose result the trace never showed: the writer died in them)
    written: dict[str, int] = Field(default_factory=dict)
    written_max: dict[str, int] = Field(default_factory=dict)
    procs_dropped: int = 0  # processes left out of a trimmed() copy
    _kids: dict[int, list[Proc]] | None = PrivateAttr(default=None)
    _own_lines: dict[int, list[Line]] | None = PrivateAttr(default=None)
    _indexed: tuple[int, int] = PrivateAttr(default=(-1, -1))

    @property
    def main(self) -> Proc | None:
        return self.procs.get(self.root) if self.root is not None else None

    def _index(self) -> tuple[dict[int, list[Proc]], dict[int, list[Line]]]:
        """Children and lines per pid, built once (rebuilt if processes or lines were added since)."""
        size = (len(self.procs), len(self.lines))
        if self._kids is None or self._own_lines is None or self._indexed != size:
            kids: dict[int, list[Proc]] = {}
            for p in self.procs.values():
                if p.parent is not None:
                    kids.setdefault(p.parent, []).append(p)
            own: dict[int, list[Line]] = {}
            for ln in self.lines:
                own.setdefault(ln.pid, []).append(ln)
            self._kids, self._own_lines, self._indexed = kids, own, size
        return self._kids, self._own_lines

    def reindex(self) -> None:
        """Forget the index: for code that changes a process's parent after the tree was read."""
        self._kids = None

    def children(self, pid: int) -> list[Proc]:
        return list(self._index()[0].get(pid, ()))

    def descendants(self, pid: int) -> list[Proc]:
        """Every process below `pid`, depth first in creation order; iterative, and a cycle ends the walk."""
        kids = self._index()[0]
        out: list[Proc] = []
        seen = {pid}
        stack = list(reversed(kids.get(pid, ())))
        while stack:
            p = stack.pop()
            if p.pid in seen:
                continue
            seen.add(p.pid)
            out.append(p)
            stack.extend(reversed(kids.get(p.pid, ())))
        return out

    def lines_of(self, pid: int) -> list[Line]:
        return list(self._index()[1].get(pid, ()))

    def threads_of(self, pid: int) -> list[Thread]:
        """The threads of process `pid` besides its main one, in creation order."""
        proc = self.procs.get(pid)
        return [self.threads[t] for t in proc.threads if t in self.threads] if proc is not None else []

    def thread_name(self, tid: int | None) -> str | None:
        """The name thread `tid` last gave itself, if it did (a label, never evidence)."""
        thread = self.threads.get(tid) if tid is not None else None
        return thread.name if thread is not None else None

    def trimmed(self, max_procs: int = 500) -> Tree:
        """A copy small enough to store or draw: main and its first `max_procs - 1` descendants, breadth first
        (then any other process), with their lines; `procs_dropped` counts the rest. The tree itself when it
        is small enough. Judging always uses the whole tree."""
        if len(self.procs) <= max_procs:
            return self
        order: list[int] = []
        if self.root in self.procs:
            queue, seen = [self.root], {self.root}
            kids = self._index()[0]
            for pid in queue:  # the list grows as it is walked: breadth first, no recursion
                order.append(pid)
                if len(order) >= max_procs:
                    break
                fresh = [c.pid for c in kids.get(pid, ()) if c.pid not in seen]
                seen.update(fresh)
                queue.extend(fresh)
        keep = set(order) | set(list(self.procs)[: max(0, max_procs - len(order))])
        copy = self.model_copy(
            update={
                "procs": {pid: p for pid, p in self.procs.items() if pid in keep},
                "lines": [ln for ln in self.lines if ln.pid in keep],
                "threads": {tid: th for tid, th in self.threads.items() if th.pid in keep},
                "procs_dropped": self.procs_dropped + len(self.procs) - len(keep),
            }
        )
        copy.reindex()
        return copy
