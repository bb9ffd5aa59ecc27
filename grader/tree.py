"""The process tree rebuilt from a trace: processes (not threads), their execs, ends, lines, kills, pipes."""

from __future__ import annotations

from pydantic import BaseModel, Field


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


class Line(BaseModel):
    """A line a process wrote to the real stdout (fd object 'stdout') or stderr."""

    pid: int
    t: float
    stream: str
    text: str


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


class Pipe(BaseModel):
    id: int
    creator: int
    t: float | None = None  # when it was created (the pipe() call's start)
    written_by: list[int] = Field(default_factory=list)
    data: str = ""
    # the first PIPE_WRITES_KEPT writes, in order: enough to see tasks or values travel, bounded for a flood
    writes: list[PipeWrite] = Field(default_factory=list)
    # processes that still held its read end when they (or the trace) ended: who could read what was written
    readers: list[int] = Field(default_factory=list)


PIPE_WRITES_KEPT = 64
PIPE_HEAD_KEPT = 64


class Tree(BaseModel):
    root: int | None = None
    procs: dict[int, Proc] = Field(default_factory=dict)
    lines: list[Line] = Field(default_factory=list)
    kills: list[Kill] = Field(default_factory=list)
    pipes: dict[int, Pipe] = Field(default_factory=dict)
    failed_forks: int = 0
    untraced: list[int] = Field(default_factory=list)
    truncated: bool = False
    end_time: float | None = None
    problems: list[str] = Field(default_factory=list)

    @property
    def main(self) -> Proc | None:
        return self.procs.get(self.root) if self.root is not None else None

    def children(self, pid: int) -> list[Proc]:
        return [p for p in self.procs.values() if p.parent == pid]

    def descendants(self, pid: int) -> list[Proc]:
        out: list[Proc] = []
        for child in self.children(pid):
            out.append(child)
            out.extend(self.descendants(child.pid))
        return out

    def lines_of(self, pid: int) -> list[Line]:
        return [ln for ln in self.lines if ln.pid == pid]
