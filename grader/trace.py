"""strace log -> process tree (grader/tree.py): pure parsing, no I/O."""

from __future__ import annotations

import re
from collections.abc import Iterable

from grader.tree import PIPE_HEAD_KEPT, PIPE_WRITES_KEPT, Exec, Kill, Line, Pipe, PipeWrite, Proc, SignalEvent, Tree

_LINE = re.compile(r"^(\d+)\s+(\d+\.\d+)\s(.*)$")
_EXITED = re.compile(r"^\+\+\+ exited with (\d+) \+\+\+$")
_KILLED = re.compile(r"^\+\+\+ killed by (SIG\w+)( \(core dumped\))? \+\+\+$")
_SUPERSEDED = re.compile(r"^\+\+\+ superseded by execve in pid (\d+) \+\+\+$")
_SIGNAL = re.compile(r"^--- (SIG\w+) \{(.*)\} ---$")
_STOPPED = re.compile(r"^--- stopped by (SIG\w+) ---$")
_RESUMED = re.compile(r"^<\.\.\. (\w+) resumed>(.*)$")
_UNFINISHED = " <unfinished ...>"
_CALL = re.compile(r"^(\w+)\((.*)\)\s+= (.*)$", re.S)
_INT = re.compile(r"-?\d+")
_WAIT_STATUS = re.compile(r"WEXITSTATUS\(s\) == (\d+)|WTERMSIG\(s\) == (SIG\w+)")
_CREATORS = {"fork", "vfork", "clone", "clone3"}
IN_TRANSIT_KEPT = 16
_SCM_RIGHTS = re.compile(r"cmsg_type=SCM_RIGHTS, cmsg_data=\[(\d+(?:, \d+)*)\]")
_BIRTH = re.compile(
    r"^(\d+)\s+\S+\s(?:<\.\.\. (fork|vfork|clone|clone3) resumed>|(fork|vfork|clone|clone3)\()(.*)\) = (\d+)$"
)
_BIRTH_START = re.compile(r"^(\d+)\s+\S+\s(fork|vfork|clone|clone3)\((.*) <unfinished \.\.\.>$")


def _strings(text: str) -> list[str]:
    """All C-style string literals strace printed in `text`, decoded."""
    out: list[str] = []
    i = 0
    while (i := text.find('"', i)) != -1:
        buf = bytearray()
        i += 1
        while i < len(text) and text[i] != '"':
            ch = text[i]
            if ch == "\\" and i + 1 < len(text):
                nxt = text[i + 1]
                simple = {"n": 10, "t": 9, "r": 13, "v": 11, "f": 12, "a": 7, "b": 8, "\\": 92, '"': 34}
                if nxt in simple:
                    buf.append(simple[nxt])
                    i += 2
                elif nxt == "x":
                    buf.append(int(text[i + 2 : i + 4], 16))
                    i += 4
                else:
                    m = re.match(r"[0-7]{1,3}", text[i + 1 : i + 4])
                    if m:
                        buf.append(int(m.group(), 8) & 0xFF)
                        i += 1 + len(m.group())
                    else:
                        buf.append(ord(nxt) & 0xFF)
                        i += 2
            else:
                buf.extend(ch.encode())
                i += 1
        out.append(buf.decode("utf-8", "replace"))
        i += 1
    return out


def _ret(text: str) -> int | None:
    m = _INT.match(text)
    return int(m.group()) if m else None


def _births(lines: list[str]) -> dict[int, tuple[int, str, set[str]]]:
    """Child id -> (creating thread, how, clone flags), known before the child's first line."""
    out: dict[int, tuple[int, str, set[str]]] = {}
    heads: dict[int, str] = {}
    for raw in lines:
        if m := _BIRTH_START.match(raw):
            heads[int(m.group(1))] = m.group(3)
        elif m := _BIRTH.match(raw):
            tid = int(m.group(1))
            args = (heads.pop(tid, "") if m.group(2) else "") + m.group(4)
            flags = re.search(r"flags=([\w|]+)", args)
            out.setdefault(
                int(m.group(5)), (tid, m.group(2) or m.group(3), set(flags.group(1).split("|")) if flags else set())
            )
    return out


class _Parser:
    def __init__(self, births: dict[int, tuple[int, str, set[str]]]) -> None:
        self.births = births
        self.tree = Tree()
        self.tgid: dict[int, int] = {}  # thread id -> process id
        self.pending: dict[int, tuple[float, str]] = {}
        self.fds: dict[int, dict[int, tuple[str, bool]]] = {}  # pid -> fd -> (object, cloexec)
        self.partial: dict[tuple[int, str], tuple[float, str]] = {}
        self.next_pipe = 0
        self.first_seen: dict[int, float] = {}
        self.in_transit: list[list[str]] = []  # fd objects sent with SCM_RIGHTS, not yet received

    # -- bookkeeping ---------------------------------------------------------------
    def proc(self, tid: int) -> Proc:
        pid = self.tgid.get(tid, tid)
        if pid not in self.tree.procs:
            self.born(tid)
            pid = self.tgid.get(tid, tid)
        return self.tree.procs[pid]

    def born(self, tid: int) -> None:
        """First sight of `tid`: place it in the tree from the pre-scanned creation call."""
        t = self.first_seen.get(tid)
        if tid not in self.births:
            self.tree.procs[tid] = Proc(pid=tid, start=t)
            self.fds[tid] = {0: ("stdin", False), 1: ("stdout", False), 2: ("stderr", False)}
            return
        creator_tid, how, flags = self.births[tid]
        creator = self.proc(creator_tid)
        if "CLONE_THREAD" in flags:
            self.tgid[tid] = creator.pid
            creator.threads.append(tid)
            return
        parent = creator.parent if "CLONE_PARENT" in flags else creator.pid
        self.tree.procs[tid] = Proc(pid=tid, parent=parent, how=how, start=t)
        self.fds[tid] = dict(self.fds.get(creator.pid, {}))

    def line(self, raw: str) -> None:
        m = _LINE.match(raw)
        if not m:
            if raw.strip():
                self.tree.problems.append(f"unrecognised trace line: {raw[:120]!r}")
            return
        tid, t, rest = int(m.group(1)), float(m.group(2)), m.group(3)
        self.first_seen.setdefault(tid, t)
        if self.tree.root is None:
            self.tree.root = tid
            self.proc(tid).start = t
        self.tree.end_time = t
        if rest.endswith(_UNFINISHED):
            self.pending[tid] = (t, rest[: -len(_UNFINISHED)])
            name = rest.split("(", 1)[0]
            self.proc(tid).blocked_in = name if tid == self.tgid.get(tid, tid) else self.proc(tid).blocked_in
            return
        if r := _RESUMED.match(rest):
            start, head = self.pending.pop(tid, (t, r.group(1) + "("))
            self.call(tid, start, t, head + r.group(2))
            return
        if rest.startswith("+++"):
            self.ended(tid, t, rest)
        elif s := _SIGNAL.match(rest):
            self.signalled(tid, t, s.group(1), s.group(2))
        elif _STOPPED.match(rest):
            pass
        else:
            self.call(tid, t, t, rest)

    def ended(self, tid: int, t: float, rest: str) -> None:
        start, text = self.pending.pop(tid, (t, ""))
        name, _, args = text.partition("(")
        if name in ("kill", "tkill", "tgkill"):  # it died in the call: the signal went out all the same
            known = len(self.tree.kills)
            getattr(self, f"on_{name}")(self.proc(tid), start, t, args, None)
            for k in self.tree.kills[known:]:
                k.finished = False
        pid = self.tgid.get(tid, tid)
        p = self.proc(tid)
        if tid != pid:  # a thread ended; the process lives on
            return
        p.end = t
        if not _KILLED.match(rest):  # a killed process keeps the call it was blocked in when the signal came
            p.blocked_in = None
        if m := _EXITED.match(rest):
            p.exit_code = int(m.group(1))
        elif m := _KILLED.match(rest):
            p.signal, p.core_dumped = m.group(1), bool(m.group(2))
            p.signal_sender = self.sender_of(p, m.group(1))
        elif m := _SUPERSEDED.match(rest):
            p.end = None
        else:
            self.tree.problems.append(f"unrecognised exit line for {tid}: {rest[:80]!r}")

    def sender_of(self, p: Proc, sig: str) -> int | None:
        for ev in reversed(p.signals):
            if ev.signal == sig and ev.sender is not None and ev.code in {"SI_USER", "SI_TKILL", "SI_QUEUE"}:
                return ev.sender
        for k in reversed(self.tree.kills):
            if k.ok and k.signal == sig and k.target in (p.pid, -1):
                return k.sender
        return None

    def signalled(self, tid: int, t: float, sig: str, info: str) -> None:
        fields = dict(f.split("=", 1) for f in info.split(", ") if "=" in f)
        sender = fields.get("si_pid")
        code = fields.get("si_code", "")
        ev = SignalEvent(t=t, signal=sig, code=code, sender=int(sender) if sender and sig != "SIGCHLD" else None)
        self.proc(tid).signals.append(ev)

    # -- system calls ----------------------------------------------------------------
    def call(self, tid: int, start: float, t: float, text: str) -> None:
        m = _CALL.match(text)
        if not m:
            if not text.startswith(("exit(", "exit_group(")):
                self.tree.problems.append(f"unparsed call in {tid}: {text[:120]!r}")
            return
        name, args, ret_text = m.group(1), m.group(2), m.group(3)
        ret = _ret(ret_text)
        p = self.proc(tid)
        if tid == p.pid:
            # `wait4(17,  <unfinished ...>) = ?`: the call never returned, the process died in it;
            # `= ? ERESTARTNOHAND`: a signal interrupted it (the next traced call clears this if it lived on)
            died_in = ret_text == "?" and args.endswith("<unfinished ...>")
            p.blocked_in = name if died_in or ret_text.startswith("? ERESTART") else None
        handler = getattr(self, f"on_{name}", None)
        if name in _CREATORS:
            self.created(tid, start, name, ret, ret_text)
        elif handler is not None:
            handler(p, start, t, args, ret)

    def created(self, tid: int, t: float, how: str, ret: int | None, ret_text: str) -> None:
        if ret is None or ret < 0:
            # refused for want of pids; other refusals (EPERM from seccomp, `= ?` when killed) are not
            self.tree.failed_forks += "EAGAIN" in ret_text
        elif ret not in self.tgid and ret not in self.tree.procs:
            self.first_seen.setdefault(ret, t)
            self.born(ret)

    def on_execve(self, p: Proc, start: float, t: float, args: str, ret: int | None) -> None:
        strs = _strings(args)
        if not strs:
            return
        p.execs.append(Exec(t=start, path=strs[0], argv=strs[1:], ok=ret == 0))
        if ret == 0:
            fds = self.fds.setdefault(p.pid, {})
            for fd in [fd for fd, (_, cloexec) in fds.items() if cloexec]:
                del fds[fd]
            obj = fds.get(0, ("closed", False))[0]
            if p.stdin is None or len([e for e in p.execs if e.ok]) == 1:
                p.stdin = obj
                if obj.startswith("pipe:"):
                    p.stdin_creator = self.tree.pipes[int(obj.split(":")[1])].creator

    on_execveat = on_execve

    def on_write(self, p: Proc, start: float, t: float, args: str, ret: int | None) -> None:
        fd = _ret(args)
        if fd is None or ret is None or ret <= 0:
            return
        data = "".join(_strings(args))
        obj = self.fds.get(p.pid, {}).get(fd, ("unknown", False))[0]
        if obj in ("stdout", "stderr"):
            key = (p.pid, obj)
            t0, buf = self.partial.pop(key, (start, ""))
            buf += data
            *done, rest = buf.split("\n")
            for i, text in enumerate(done):  # a line counts from its first byte
                self.tree.lines.append(Line(pid=p.pid, t=t0 if i == 0 else start, stream=obj, text=text))
            if rest:
                self.partial[key] = (t0, rest)
        elif obj.startswith("pipe:") and obj.endswith(":w"):
            pipe = self.tree.pipes[int(obj.split(":")[1])]
            if p.pid not in pipe.written_by:
                pipe.written_by.append(p.pid)
            if len(pipe.data) < 4096:
                pipe.data += data[: 4096 - len(pipe.data)]
            if len(pipe.writes) < PIPE_WRITES_KEPT:
                pipe.writes.append(PipeWrite(t=start, pid=p.pid, head=data[:PIPE_HEAD_KEPT]))

    on_writev = on_write

    def on_pipe2(self, p: Proc, start: float, t: float, args: str, ret: int | None) -> None:
        m = re.match(r"\[(\d+), (\d+)\](.*)", args)
        if ret != 0 or not m:
            return
        self.next_pipe += 1
        self.tree.pipes[self.next_pipe] = Pipe(id=self.next_pipe, creator=p.pid, t=start)
        cloexec = "O_CLOEXEC" in m.group(3)
        fds = self.fds.setdefault(p.pid, {})
        fds[int(m.group(1))] = (f"pipe:{self.next_pipe}:r", cloexec)
        fds[int(m.group(2))] = (f"pipe:{self.next_pipe}:w", cloexec)

    on_pipe = on_pipe2

    def _dup(self, p: Proc, old: int, new: int | None, cloexec: bool) -> None:
        fds = self.fds.setdefault(p.pid, {})
        if new is not None and new >= 0:
            fds[new] = (fds.get(old, ("unknown", False))[0], cloexec)

    def on_dup(self, p: Proc, start: float, t: float, args: str, ret: int | None) -> None:
        self._dup(p, int(args.split(",")[0]), ret, False)

    def on_dup2(self, p: Proc, start: float, t: float, args: str, ret: int | None) -> None:
        self._dup(p, int(args.split(",")[0]), ret, False)

    def on_dup3(self, p: Proc, start: float, t: float, args: str, ret: int | None) -> None:
        self._dup(p, int(args.split(",")[0]), ret, "O_CLOEXEC" in args)

    def on_fcntl(self, p: Proc, start: float, t: float, args: str, ret: int | None) -> None:
        if "F_DUPFD" in args:
            self._dup(p, int(args.split(",")[0]), ret, "CLOEXEC" in args)
        elif "F_SETFD" in args and ret == 0:  # subprocess/spawn make passed fds inheritable before the exec
            fds = self.fds.setdefault(p.pid, {})
            fd = int(args.split(",")[0])
            if fd in fds:
                fds[fd] = (fds[fd][0], "FD_CLOEXEC" in args)

    def on_sendmsg(self, p: Proc, start: float, t: float, args: str, ret: int | None) -> None:
        """File descriptors passed over a socket (SCM_RIGHTS), as multiprocessing's forkserver receives a
        Process's pipes: the objects sent, in order, for the next recvmsg that receives as many."""
        m = _SCM_RIGHTS.search(args)
        if m and ret is not None and ret >= 0:
            fds = self.fds.get(p.pid, {})
            self.in_transit.append([fds.get(int(fd), ("unknown", False))[0] for fd in m.group(1).split(", ")])
            del self.in_transit[:-IN_TRANSIT_KEPT]  # never received: a flood of them is not kept

    def on_recvmsg(self, p: Proc, start: float, t: float, args: str, ret: int | None) -> None:
        m = _SCM_RIGHTS.search(args)
        if not m or ret is None or ret < 0:
            return
        got = [int(fd) for fd in m.group(1).split(", ")]
        sent = next((objs for objs in self.in_transit if len(objs) == len(got)), None)
        if sent is None:
            return
        self.in_transit.remove(sent)
        fds = self.fds.setdefault(p.pid, {})
        for fd, obj in zip(got, sent, strict=True):
            fds[fd] = (obj, "MSG_CMSG_CLOEXEC" in args)

    def on_close(self, p: Proc, start: float, t: float, args: str, ret: int | None) -> None:
        if ret == 0:
            self.fds.get(p.pid, {}).pop(int(args.split(",")[0]), None)

    def on_kill(self, p: Proc, start: float, t: float, args: str, ret: int | None) -> None:
        target, _, sig = args.partition(", ")
        if sig.startswith("SIG") or sig == "0":
            self.tree.kills.append(Kill(t=start, sender=p.pid, target=int(target), signal=sig, ok=ret == 0))

    def on_tgkill(self, p: Proc, start: float, t: float, args: str, ret: int | None) -> None:
        tgid, _, sig = args.split(", ")
        self.tree.kills.append(Kill(t=start, sender=p.pid, target=int(tgid), signal=sig, ok=ret == 0))

    on_tkill = on_kill  # tkill(tid, sig): the same shape; the target is a thread id

    def on_wait4(self, p: Proc, start: float, t: float, args: str, ret: int | None) -> None:
        if ret and ret > 0 and ret in self.tree.procs:
            self.tree.procs[ret].reaped_by = p.pid
            status = _WAIT_STATUS.search(args)
            child = self.tree.procs[ret]
            if status and not child.ended:  # the exit line may still come; the status is authoritative
                if status.group(1) is not None:
                    child.exit_code = int(status.group(1))
                else:
                    child.signal = status.group(2)

    def on_waitid(self, p: Proc, start: float, t: float, args: str, ret: int | None) -> None:
        m = re.search(r"si_pid=(\d+)", args)
        if ret == 0 and m and "WNOWAIT" not in args and int(m.group(1)) in self.tree.procs:
            self.tree.procs[int(m.group(1))].reaped_by = p.pid

    def held_read_ends(self) -> None:
        """Record, for each pipe, the processes whose descriptor table ends holding its read end."""
        held: dict[int, set[int]] = {}  # sets: a pipe inherited by thousands of forks stays linear
        for pid, fds in self.fds.items():
            for obj, _ in fds.values():
                if obj.startswith("pipe:") and obj.endswith(":r") and pid in self.tree.procs:
                    held.setdefault(int(obj.split(":")[1]), set()).add(pid)
        for pipe_id, pids in held.items():
            if (pipe := self.tree.pipes.get(pipe_id)) is not None:
                pipe.readers = sorted(pids)

    def finish(self, complete: bool) -> Tree:
        self.held_read_ends()
        for (pid, stream), (t0, rest) in self.partial.items():
            self.tree.lines.append(Line(pid=pid, t=t0, stream=stream, text=rest))
        self.tree.lines.sort(key=lambda ln: ln.t)
        for tid, (_, text) in self.pending.items():
            pid = self.tgid.get(tid, tid)
            proc = self.tree.procs.get(pid)
            if proc is not None and not proc.ended and proc.blocked_in is None:
                proc.blocked_in = text.split("(", 1)[0]
        for p in self.tree.procs.values():
            if p.ended and p.signal and p.signal_sender is None:
                p.signal_sender = self.sender_of(p, p.signal)
        self.tree.truncated = self.tree.truncated or not complete
        main = self.tree.main
        if main is None:
            self.tree.problems.append("the trace is empty: the program was never started under the tracer")
        elif not main.ended:
            self.tree.problems.append(f"the trace has no end for the main process {main.pid}")
        return self.tree


def parse(log: str | Iterable[str], *, max_lines: int = 2_000_000) -> Tree:
    """Parse an `strace -f -ttt` log. A last line without a newline counts as truncation."""
    lines = log.split("\n") if isinstance(log, str) else list(log)
    complete = True
    if isinstance(log, str) and log and not log.endswith("\n"):
        lines, complete = lines[:-1], False
    births = _births(lines[:max_lines])
    parser = _Parser(births)
    for i, raw in enumerate(lines):
        if i >= max_lines:
            complete = False
            break
        parser.line(raw)
    tree = parser.finish(complete)
    # strace never follows a CLONE_UNTRACED child: only its parent's clone() call shows it was born
    tree.untraced = sorted(pid for pid, (_, _, flags) in births.items() if "CLONE_UNTRACED" in flags)
    return tree
