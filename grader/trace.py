"""strace log -> process tree (grader/tree.py): pure parsing, no I/O.

The log is read as a stream, in two passes (births, then everything), without copying it into a list of
lines; what is kept is bounded whatever the program did (lines per process, line length, pipe data), and
the tree counts what was left out.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterable, Iterator

from grader.tree import (
    PIPE_HEAD_KEPT,
    PIPE_WRITES_KEPT,
    Exec,
    Kill,
    Line,
    Pipe,
    PipeWrite,
    Proc,
    SignalEvent,
    Thread,
    Tree,
)

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
_BIRTH_START = re.compile(r"^(\d+)\s+(\S+)\s(fork|vfork|clone|clone3)\((.*) <unfinished \.\.\.>$")
# the creator died inside the call, printed on one line: the child may exist all the same (killed with it)
_BIRTH_DIED = re.compile(r"^(\d+)\s+(\S+)\s(fork|vfork|clone|clone3)\((.*)\) = \?$")
_PID_CHANGED = re.compile(r"^(.*) <pid changed to (\d+) \.\.\.>$", re.S)
_STRING = re.compile(r'"((?:[^"\\]+|\\.)*)"(\.\.\.)?', re.S)
_IOV_LEN = re.compile(r"iov_len=(\d+)")
_SI_PID = re.compile(r"\bsi_pid=(\d+)")
_SI_CODE = re.compile(r"\bsi_code=(\w+)")
_SENT_BY_CALL = {"SI_USER", "SI_TKILL", "SI_QUEUE"}
# What is kept of the program's printed lines: enough for every exercise many times over, bounded for a flood
# (700,000 lines in a few writev calls must not cost the grader hundreds of MB). The rest is counted.
LINES_PER_PROCESS = 2_000
LINES_TOTAL = 10_000
LINE_CHARS = 1_000
PIPE_DATA = 4096
MAX_EVENTS = 10_000  # distinct kill calls, and distinct signals delivered, kept per run
Birth = tuple[int, str, frozenset[str]]  # creating thread, how (fork, vfork, clone, clone3), clone flags


def _unescape_slow(text: str) -> bytes:
    """strace's C-style escapes, one character at a time (only for what escape_decode refuses)."""
    buf = bytearray()
    i = 0
    simple = {"n": 10, "t": 9, "r": 13, "v": 11, "f": 12, "a": 7, "b": 8, "\\": 92, '"': 34}
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt in simple:
                buf.append(simple[nxt])
                i += 2
            elif nxt == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", text[i + 2 : i + 4]):
                buf.append(int(text[i + 2 : i + 4], 16))
                i += 4
            elif m := re.match(r"[0-7]{1,3}", text[i + 1 : i + 4]):
                buf.append(int(m.group(), 8) & 0xFF)
                i += 1 + len(m.group())
            else:
                buf.extend(nxt.encode())
                i += 2
        else:
            buf.extend(ch.encode())
            i += 1
    return bytes(buf)


def _unescape(text: str) -> bytes:
    if "\\" not in text:
        return text.encode("utf-8", "surrogateescape")
    try:  # the C escapes strace prints are Python's bytes escapes: decoded in C, not per character
        return codecs.escape_decode(text.encode("utf-8", "surrogateescape"))[0]
    except ValueError:
        return _unescape_slow(text)


def _literals(text: str) -> list[tuple[bytes, bool]]:
    """Every C-style string literal strace printed in `text` as bytes, and whether strace cut it (`"..."...`)."""
    return [(_unescape(m.group(1)), m.group(2) is not None) for m in _STRING.finditer(text)]


def _strings(text: str) -> list[str]:
    """All C-style string literals strace printed in `text`, decoded."""
    return [raw.decode("utf-8", "replace") for raw, _ in _literals(text)]


def _lines(log: str) -> Iterator[tuple[str, bool]]:
    """The log's lines one at a time (no list of them all), each with whether it ended with a newline."""
    pos, size = 0, len(log)
    while pos < size:
        end = log.find("\n", pos)
        if end == -1:
            yield log[pos:], False
            return
        yield log[pos:end], True
        pos = end + 1


def _read_channel(obj: str) -> int | None:
    """The pipe (or socketpair direction) a descriptor object reads from, if it reads one."""
    if obj.startswith("pipe:") and obj.endswith(":r"):
        return int(obj.split(":")[1])
    if obj.startswith("sock:"):  # a socket end reads the other direction
        return int(obj.split(":")[2])
    return None


def _ret(text: str) -> int | None:
    m = _INT.match(text)
    return int(m.group()) if m else None


class Births:
    """What the pre-scan learns: child id -> its birth, known before the child's first line; the creation
    calls that never returned (time, thread, arguments: a child may be born of one while its creator is killed
    in the call); and the ids handed out twice (the kernel reused a pid or thread id)."""

    def __init__(self) -> None:
        self.of: dict[int, Birth] = {}
        self.unfinished: list[tuple[float, int, str]] = []
        self.reused: set[int] = set()


def _births(lines: Iterable[str]) -> Births:
    found = Births()
    out = found.of
    heads: dict[int, tuple[float, str, str]] = {}
    died: list[tuple[float, int, str]] = []
    for raw in lines:
        if "fork" not in raw and "clone" not in raw:
            continue
        if m := _BIRTH_START.match(raw):
            heads[int(m.group(1))] = (float(m.group(2)), m.group(3), m.group(4))
        elif m := _BIRTH_DIED.match(raw):
            died.append((float(m.group(2)), int(m.group(1)), m.group(3) + "|" + m.group(4)))
        elif m := _BIRTH.match(raw):
            tid = int(m.group(1))
            args = (heads.pop(tid, (0.0, "", ""))[2] if m.group(2) else "") + m.group(4)
            child = int(m.group(5))
            if child in out:
                found.reused.add(child)
            out.setdefault(child, (tid, m.group(2) or m.group(3), _flags(args)))
    found.unfinished = sorted([*died, *((t, tid, how + "|" + args) for tid, (t, how, args) in heads.items())])
    return found


_FLAG_SETS: dict[str, frozenset[str]] = {}


def _flags(args: str) -> frozenset[str]:
    """The clone flags, one shared set per spelling (a fork churn repeats the same flags 100,000 times)."""
    flags = re.search(r"flags=([\w|]+)", args)
    text = flags.group(1) if flags else ""
    if text not in _FLAG_SETS and len(_FLAG_SETS) < 1024:
        _FLAG_SETS[text] = frozenset(text.split("|")) - {""}
    return _FLAG_SETS.get(text) or frozenset(text.split("|")) - {""}


_PROC_DEFAULTS = {name: f.default for name, f in Proc.model_fields.items() if f.default_factory is None}
_PROC_FIELDS = set(Proc.model_fields)
_LINE_FIELDS = set(Line.model_fields)
_THREAD_FIELDS = set(Thread.model_fields)
# a thread bomb or churn makes thousands: every field given, so pydantic resolves no default per thread
_THREAD_DEFAULTS = {name: f.default for name, f in Thread.model_fields.items() if f.default_factory is None}
_PR_SET_NAME = re.compile(r'^PR_SET_NAME, "((?:[^"\\]|\\.)*)"')
_SLEEPS = ("clock_nanosleep", "nanosleep")
THREAD_NAMES_KEPT = 8  # names a thread gave itself, kept in order: a renaming loop is not kept whole
COMM_BYTES = 15
_PROC_FACTORIES = [(name, f.default_factory) for name, f in Proc.model_fields.items() if f.default_factory]


def _proc(**fields: object) -> Proc:
    """A Proc without validation (the parser's values are already typed). Every field is given: pydantic
    resolves each missing default (and inspects a default_factory's signature) on every model_construct."""
    made = {name: factory() for name, factory in _PROC_FACTORIES}  # type: ignore[call-arg]
    # every field counts as set, in one set shared by all: pydantic's own is a set per process that grows
    # with each assignment (half a process's memory); adding a name already there changes nothing
    return Proc.model_construct(_fields_set=_PROC_FIELDS, **{**_PROC_DEFAULTS, **made, **fields})


class _Parser:
    def __init__(self, births: dict[int, Birth], unfinished: list[tuple[float, int, str]]) -> None:
        self.births = births
        self.unfinished = unfinished
        self.orphan_makers = {tid for _, tid, _ in unfinished}  # their children may show up after they end
        self.tree = Tree()
        self.tgid: dict[int, int] = {}  # thread id -> process id
        self.pending: dict[int, tuple[float, str]] = {}
        self.fds: dict[int, dict[int, tuple[str, bool]]] = {}  # pid -> fd -> (object, cloexec)
        # (tid, stream) -> (pid, t, text, cut): each thread's unfinished line apart, since print() writes the text
        # and its newline in two calls and another thread may write between them
        self.partial: dict[tuple[int, str], tuple[int, float, str, int]] = {}
        self.tid = 0  # the thread whose call is being handled
        self.sleeping: dict[int, set[int]] = {}  # pid -> its threads (not the main one) inside a sleep call
        self.sleeps_begun: dict[int, int] = {}  # pid -> sleep calls its threads began
        self.sleep_marks: dict[int, tuple[int, bool]] = {}  # tid -> (sleeps begun before its own, shared then)
        self.kept: dict[int, int] = {}  # pid -> lines kept
        self.next_pipe = 0
        self.first_seen: dict[int, float] = {}
        self.unborn: list[int] = []  # processes no traced call was seen creating
        self.end_time: float | None = None
        self.dying = False  # the kill call being recorded never returned: its caller died in it
        self.kill_index: dict[tuple[int, int, str, bool, bool], int] = {}
        self.signal_index: dict[tuple[int, str, int | None, str], int] = {}
        self.refused_index: dict[tuple[int, int, str, bool, bool], int] = {}
        self.thread_exec: set[int] = set()  # processes a non-main thread just exec'd in
        self.in_transit: list[list[str]] = []  # fd objects sent with SCM_RIGHTS, not yet received
        self.read_ends: dict[int, set[int]] = {}  # pipe id -> processes that ended holding its read end
        self.closed_reads: dict[int, set[int]] = {}  # pipe id -> processes that closed a read end of it

    # -- bookkeeping ---------------------------------------------------------------
    def proc(self, tid: int) -> Proc:
        pid = self.tgid.get(tid, tid)
        if pid not in self.tree.procs:
            self.born_with_ancestors(tid)
            pid = self.tgid.get(tid, tid)
        return self.tree.procs[pid]

    def born_with_ancestors(self, tid: int) -> None:
        """Place `tid` and its creators not yet seen, oldest first: a loop, not a recursion, since a chain of
        processes may be thousands deep and the trace may show the youngest first."""
        chain, seen = [tid], {tid}
        while (birth := self.births.get(chain[-1])) is not None:
            creator = birth[0]
            if creator in seen or self.tgid.get(creator, creator) in self.tree.procs:
                break
            chain.append(creator)
            seen.add(creator)
        for t in reversed(chain):
            if self.tgid.get(t, t) not in self.tree.procs:
                self.born(t)

    def born(self, tid: int) -> None:
        """First sight of `tid`: place it in the tree from the pre-scanned creation call."""
        t = self.first_seen.get(tid)
        birth = self.births.get(tid) or self.orphan_birth(tid, t)
        if birth is None:
            self.tree.procs[tid] = _proc(pid=tid, start=t)
            self.fds[tid] = {0: ("stdin", False), 1: ("stdout", False), 2: ("stderr", False)}
            if tid != self.tree.root:
                self.unborn.append(tid)
            return
        creator_tid, how, flags = birth
        creator = self.proc(creator_tid)
        if "CLONE_THREAD" in flags:
            self.tgid[tid] = creator.pid
            creator.threads.append(tid)
            self.tree.threads[tid] = Thread.model_construct(
                _fields_set=_THREAD_FIELDS,
                **{**_THREAD_DEFAULTS, "tid": tid, "pid": creator.pid, "creator": creator_tid, "start": t, "names": []},
            )
            return
        # CLONE_PARENT makes the child its creator's sibling; made by main, its kernel parent is outside the
        # trace, so it is attributed to main, whose call created it: no check may lose sight of it
        parent = creator.parent if "CLONE_PARENT" in flags and creator.parent is not None else creator.pid
        self.tree.procs[tid] = _proc(pid=tid, parent=parent, creator=creator.pid, how=how, start=t)
        self.fds[tid] = dict(self.fds.get(creator.pid, {}))

    def orphan_birth(self, tid: int, t: float | None) -> Birth | None:
        """A child whose creator was killed inside fork/clone (the call never returned): the latest such call
        started before the child's first line made it."""
        if tid == self.tree.root or t is None:
            return None
        made = [(start, creator, text) for start, creator, text in self.unfinished if start <= t and creator != tid]
        if not made:
            return None
        _, creator, text = made[-1]
        how, _, args = text.partition("|")
        return creator, how, _flags(args)

    def line(self, raw: str) -> None:
        m = _LINE.match(raw)
        if not m:
            if raw.strip():
                self.tree.problems.append(f"unrecognised trace line: {raw[:120]!r}")
            return
        tid, t, rest = int(m.group(1)), float(m.group(2)), m.group(3)
        if tid not in self.first_seen:
            self.first_seen[tid] = t
        if self.tree.root is None:
            self.tree.root = tid
            self.proc(tid).start = t
        self.end_time = t
        if rest.endswith(_UNFINISHED):
            self.pending[tid] = (t, rest[: -len(_UNFINISHED)])
            if rest.startswith(_SLEEPS):
                self.sleep_began(tid)
            if tid == self.tgid.get(tid, tid):
                self.proc(tid).blocked_in = rest.split("(", 1)[0]
            elif (thread := self.tree.threads.get(tid)) is not None:
                thread.blocked_in = rest.split("(", 1)[0]
            return
        if rest.endswith("...>") and (c := _PID_CHANGED.match(rest)):
            self.exec_in_thread(tid, t, c.group(1))
            return
        if rest.startswith("<...") and (r := _RESUMED.match(rest)):
            start, head = self.pending.pop(tid, (t, r.group(1) + "("))
            self.call(tid, start, t, head + r.group(2))
            return
        if rest.startswith("+++"):
            self.ended(tid, t, rest)
        elif rest.startswith("---"):
            if s := _SIGNAL.match(rest):
                self.signalled(tid, t, s.group(1), s.group(2))
            elif not _STOPPED.match(rest):
                self.tree.problems.append(f"unrecognised trace line: {rest[:120]!r}")
        else:
            self.call(tid, t, t, rest)

    def exec_in_thread(self, tid: int, t: float, text: str) -> None:
        """`execve(...) <pid changed to N ...>`: a thread other than the main one exec'd. The kernel changes the
        pid only once the exec has succeeded, so the process now runs that program (its later `<... execve
        resumed>` carries no usable result)."""
        p = self.proc(tid)
        name, _, args = text.partition("(")
        if name in ("execve", "execveat"):
            self.exec_done(p, t, args, ok=True)
            self.thread_exec.add(p.pid)

    def ended(self, tid: int, t: float, rest: str) -> None:
        start, text = self.pending.pop(tid, (t, ""))
        name, _, args = text.partition("(")
        if name in ("kill", "tkill", "tgkill"):  # it died in the call: the signal went out all the same
            self.dying = True
            _HANDLERS[name](self, self.proc(tid), start, t, args, None)
            self.dying = False
        elif name in ("write", "writev"):  # it died in the call: some of the bytes may have gone out
            self.maybe_written(self.proc(tid), name, args)
        pid = self.tgid.get(tid, tid)
        p = self.proc(tid)
        if tid != pid:  # a thread ended; the process lives on
            if (thread := self.tree.threads.get(tid)) is not None:
                thread.end = t
                self.sleeping.get(pid, set()).discard(tid)
                self.sleep_marks.pop(tid, None)
                if not _KILLED.match(rest):
                    thread.blocked_in = None
            return
        if not _SUPERSEDED.match(rest) and pid not in self.orphan_makers:
            self.note_read_ends(pid, self.fds.pop(pid, {}))  # it writes no more (kept for 100,000 children, it adds up)
        p.end = t
        if not _KILLED.match(rest):  # a killed process keeps the call it was blocked in when the signal came
            p.blocked_in = None
        if m := _EXITED.match(rest):
            p.exit_code = int(m.group(1))
        elif m := _KILLED.match(rest):
            p.signal, p.core_dumped = m.group(1), bool(m.group(2))
        elif m := _SUPERSEDED.match(rest):
            p.end = None
            if p.pid not in self.thread_exec:  # an exec the trace did not show: never taken for a fork of main
                p.execs.append(Exec(t=t, path=f"(unknown program exec'd by thread {m.group(1)})", argv=[], ok=True))
            self.thread_exec.discard(p.pid)
        else:
            self.tree.problems.append(f"unrecognised exit line for {tid}: {rest[:80]!r}")

    def sleep_began(self, tid: int) -> None:
        """Thread `tid` entered a sleep call. O(1) however many threads sleep (a thread bomb's 60 sleeping in
        a loop must not cost the grader 60 steps a call): it notes whether another thread was asleep, and how
        many sleeps its process had begun, to learn at the end whether another began meanwhile."""
        thread = self.tree.threads.get(tid)
        if thread is None:
            return
        asleep = self.sleeping.setdefault(thread.pid, set())
        asleep.discard(tid)
        began = self.sleeps_begun.get(thread.pid, 0)
        self.sleep_marks[tid] = (began, bool(asleep))
        self.sleeps_begun[thread.pid] = began + 1
        asleep.add(tid)

    def sleep_ended(self, thread: Thread) -> None:
        """A thread's sleep call returned (shown on one line, it began just now as far as sharing goes): it was
        shared if another thread was asleep when it began, or another thread's sleep began before it ended."""
        asleep = self.sleeping.setdefault(thread.pid, set())
        if thread.tid not in asleep:
            self.sleep_began(thread.tid)
        began, shared = self.sleep_marks.pop(thread.tid, (0, False))
        if shared or self.sleeps_begun.get(thread.pid, 0) - began > 1:
            thread.sleeps_shared += 1
        asleep.discard(thread.tid)
        thread.sleeps += 1

    def threads_end(self) -> None:
        """A thread with no end of its own ended with its process (exit_group, a fatal signal, an exec)."""
        for thread in self.tree.threads.values():
            proc = self.tree.procs.get(thread.pid)
            if thread.end is None and proc is not None and proc.end is not None:
                thread.end = proc.end

    def on_prctl(self, p: Proc, start: float, t: float, args: str, ret: int | None) -> None:
        """A thread naming itself (what threading does on 3.14+, or the program with ctypes): a label only."""
        m = _PR_SET_NAME.match(args)
        thread = self.tree.threads.get(self.tid)
        if m and ret == 0 and thread is not None and len(thread.names) < THREAD_NAMES_KEPT:
            # the kernel keeps 15 bytes of the name; strace shows all the program passed (up to -s 4096)
            thread.names.append(_unescape(m.group(1))[:COMM_BYTES].decode("utf-8", "replace"))

    def sender_of(self, p: Proc, sig: str) -> int | None:
        """The process whose traced kill/tkill/tgkill call sent `sig` to `p`, or None.

        siginfo's si_pid alone proves nothing (rt_sigqueueinfo writes any si_pid it likes): it only picks,
        among the calls the trace saw sending `sig` to `p` (or to every process, or to a group), which one.
        """
        targets = {p.pid, *p.threads}
        end = p.end if p.end is not None else float("inf")
        sent = [k for k in self.tree.kills if k.signal == sig and (k.ok or not k.finished) and k.t <= end]
        for ev in sorted(p.signals, key=lambda ev: ev.t, reverse=True):
            claimed = ev.signal == sig and ev.sender is not None and ev.code in _SENT_BY_CALL
            if claimed and any(k.sender == ev.sender and (k.target in targets or k.target <= 0) for k in sent):
                return ev.sender
        direct = [k for k in sent if k.target in targets or k.target == -1]
        return max(direct, key=lambda k: k.t).sender if direct else None

    def signalled(self, tid: int, t: float, sig: str, info: str) -> None:
        pid_m, code_m = _SI_PID.search(info), _SI_CODE.search(info)
        sender = int(pid_m.group(1)) if pid_m and sig != "SIGCHLD" else None
        code = code_m.group(1) if code_m else ""
        p = self.proc(tid)
        # a signal storm delivers hundreds of thousands: one event per (signal, sender, code), the latest
        key = (p.pid, sig, sender, code)
        if (i := self.signal_index.get(key)) is not None:
            p.signals[i].t = t
        elif len(self.signal_index) < MAX_EVENTS:
            self.signal_index[key] = len(p.signals)
            p.signals.append(SignalEvent(t=t, signal=sig, code=code, sender=sender))

    # -- output ------------------------------------------------------------------------
    def add_line(self, pid: int, t: float, stream: str, text: str, cut: int, tid: int) -> None:
        """Keep a printed line within the caps; count it either way."""
        if self.kept.get(pid, 0) >= LINES_PER_PROCESS or len(self.tree.lines) >= LINES_TOTAL:
            self.tree.lines_dropped[pid] = self.tree.lines_dropped.get(pid, 0) + 1
            return
        self.kept[pid] = self.kept.get(pid, 0) + 1
        if len(text) > LINE_CHARS:
            text, cut = text[:LINE_CHARS], cut + len(text) - LINE_CHARS
        line = Line.model_construct(_fields_set=_LINE_FIELDS, pid=pid, t=t, stream=stream, text=text, cut=cut, tid=tid)
        self.tree.lines.append(line)

    def printed(self, p: Proc, stream: str, start: float, data: str, unseen: int) -> None:
        """Bytes `p`'s current thread wrote to the real stdout/stderr, cut into lines; `unseen`: bytes written
        that strace did not print (its string limit), which spoil the line they fall in."""
        key = (self.tid, stream)
        _, t0, buf, cut = self.partial.pop(key, (p.pid, start, "", 0))
        *done, rest = (buf + data).split("\n")
        for i, text in enumerate(done):  # a line counts from its first byte
            self.add_line(p.pid, t0 if i == 0 else start, stream, text, cut if i == 0 else 0, self.tid)
        if done:
            t0, cut = start, 0
        cut += unseen + max(0, len(rest) - LINE_CHARS)
        if rest or cut:
            self.partial[key] = (p.pid, t0, rest[:LINE_CHARS], cut)

    def maybe_written(self, p: Proc, name: str, args: str) -> None:
        """A write to stdout/stderr whose result the trace never showed: it may have written all it asked."""
        fd = _ret(args)
        obj = self.fds.get(p.pid, {}).get(fd if fd is not None else -1, ("unknown", False))[0]
        if obj in ("stdout", "stderr"):
            bare = _STRING.sub('""', args)  # the data may spell `iov_len=` too
            asked = sum(map(int, _IOV_LEN.findall(bare))) if name == "writev" else _ret(bare.rsplit(", ", 1)[-1])
            self.tree.written_max[obj] = self.tree.written_max.get(obj, 0) + (asked or 0)

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
        self.tid = tid
        if tid != p.pid and (thread := self.tree.threads.get(tid)) is not None:
            thread.blocked_in = None  # it returned from the call it was in
            if name not in ("exit", "exit_group"):
                thread.done = t
            if name in _SLEEPS:
                self.sleep_ended(thread)
        if tid == p.pid:
            # `wait4(17,  <unfinished ...>) = ?`: the call never returned, the process died in it;
            # `= ? ERESTARTNOHAND`: a signal interrupted it (the next traced call clears this if it lived on)
            died_in = ret_text == "?" and args.endswith("<unfinished ...>")
            blocked = name if died_in or ret_text.startswith("? ERESTART") else None
            if p.blocked_in != blocked:  # (a model's setattr costs: only when it changes)
                p.blocked_in = blocked
        handler = _HANDLERS.get(name)
        if name in _CREATORS:
            self.created(tid, start, name, ret, ret_text)
        elif ret is None and name in ("write", "writev"):
            self.maybe_written(p, name, args)
        elif handler is not None:
            handler(self, p, start, t, args, ret)

    def created(self, tid: int, t: float, how: str, ret: int | None, ret_text: str) -> None:
        if ret is None or ret < 0:
            # refused for want of pids; other refusals (EPERM from seccomp, `= ?` when killed) are not
            self.tree.failed_forks += "EAGAIN" in ret_text
        elif ret not in self.tgid and ret not in self.tree.procs:
            self.first_seen.setdefault(ret, t)
            self.born(ret)

    def exec_done(self, p: Proc, start: float, args: str, *, ok: bool) -> None:
        strs = _strings(args)
        if not strs:
            return
        p.execs.append(Exec(t=start, path=strs[0], argv=strs[1:], ok=ok))
        if ok:
            fds = self.fds.setdefault(p.pid, {})
            for fd in [fd for fd, (_, cloexec) in fds.items() if cloexec]:
                del fds[fd]
            obj = fds.get(0, ("closed", False))[0]
            if p.stdin is None or len([e for e in p.execs if e.ok]) == 1:
                p.stdin = obj
                if obj.startswith("pipe:"):
                    p.stdin_creator = self.tree.pipes[int(obj.split(":")[1])].creator

    def on_execve(self, p: Proc, start: float, t: float, args: str, ret: int | None) -> None:
        self.exec_done(p, start, args, ok=ret == 0)

    on_execveat = on_execve

    def on_write(self, p: Proc, start: float, t: float, args: str, ret: int | None) -> None:
        """What reached stdout/stderr is judged from the trace alone: the bytes strace printed for the call,
        as the kernel took them. The sandbox's captured output may differ (a buffer changed by another thread
        during the call, bytes sent by calls the tracer does not show): `checks.untraced_output` compares the
        byte counts, and the judged lines never come from the captured output."""
        fd = _ret(args)
        if fd is None or ret is None or ret <= 0:
            return
        obj = self.fds.get(p.pid, {}).get(fd, ("unknown", False))[0]
        if obj in ("stdout", "stderr"):
            self.tree.written[obj] = self.tree.written.get(obj, 0) + ret
            self.tree.written_max[obj] = self.tree.written_max.get(obj, 0) + ret
            if self.kept.get(p.pid, 0) >= LINES_PER_PROCESS or len(self.tree.lines) >= LINES_TOTAL:
                # nothing more of this process is kept: count its lines without decoding them
                dropped = self.tree.lines_dropped
                dropped[p.pid] = dropped.get(p.pid, 0) + args.count("\\n")
                return
            literals = _literals(args)
            raw = b"".join(b for b, _ in literals)
            shown = raw[:ret]  # a writev's iovecs may hold more than was written
            # fewer bytes shown than written: strace cut a string (-s) or left iovecs out of a long array
            unseen = max(0, ret - len(shown))
            self.printed(p, obj, start, shown.decode("utf-8", "replace"), unseen)
        elif (obj.startswith("pipe:") and obj.endswith(":w")) or obj.startswith("sock:"):
            pipe = self.tree.pipes[int(obj.split(":")[1])]
            if p.pid not in pipe.written_by:
                pipe.written_by.append(p.pid)
            if len(pipe.data) < PIPE_DATA or len(pipe.writes) < PIPE_WRITES_KEPT:
                data = "".join(_strings(args))
                pipe.data += data[: max(0, PIPE_DATA - len(pipe.data))]
                if len(pipe.writes) < PIPE_WRITES_KEPT:
                    pipe.writes.append(PipeWrite(t=start, pid=p.pid, head=data[:PIPE_HEAD_KEPT], tid=self.tid))

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

    def on_socketpair(self, p: Proc, start: float, t: float, args: str, ret: int | None) -> None:
        """A connected socket pair (multiprocessing.Pipe() with duplex=True): two one-way channels, one per
        direction. Each end's object names the channel it writes into, then the one it reads from."""
        m = re.search(r"\[(\d+), (\d+)\]", args)
        if ret != 0 or not m:
            return
        ids = []
        for _ in range(2):
            self.next_pipe += 1
            self.tree.pipes[self.next_pipe] = Pipe(id=self.next_pipe, creator=p.pid, t=start, kind="socketpair")
            ids.append(self.next_pipe)
        cloexec = "SOCK_CLOEXEC" in args
        fds = self.fds.setdefault(p.pid, {})
        fds[int(m.group(1))] = (f"sock:{ids[0]}:{ids[1]}", cloexec)
        fds[int(m.group(2))] = (f"sock:{ids[1]}:{ids[0]}", cloexec)

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
            fds = self.fds.get(p.pid, {})
            obj = fds.pop(int(args.split(",")[0]), None)
            if obj is not None and (read := _read_channel(obj[0])) is not None:
                self.closed_reads.setdefault(read, set()).add(p.pid)

    def sent(self, p: Proc, start: float, target: str, sig: str, ret: int | None) -> None:
        """Record a signal `p` sent. A storm of kill calls keeps one record per (sender, target, signal,
        outcome), the latest; past MAX_EVENTS distinct ones the rest go unrecorded (their targets' senders
        stay unknown: never a sender the trace did not show). A refused call is kept only for SIGKILL, the one
        grading asks about, in a budget of its own: refused probes cannot crowd out the signals really sent."""
        if not (sig.startswith("SIG") and _INT.fullmatch(target)):  # signal 0 only probes: nothing is sent
            return
        ok, finished = ret == 0, not self.dying
        if not ok and finished and sig != "SIGKILL":
            return
        key = (p.pid, int(target), sig, ok, finished)
        index = self.kill_index if ok or not finished else self.refused_index
        if (i := index.get(key)) is not None:
            self.tree.kills[i].t = start
        elif len(index) < MAX_EVENTS:
            index[key] = len(self.tree.kills)
            kill = Kill(t=start, sender=p.pid, target=int(target), signal=sig, ok=ok, finished=finished)
            self.tree.kills.append(kill)

    def on_kill(self, p: Proc, start: float, t: float, args: str, ret: int | None) -> None:
        target, _, sig = args.partition(", ")
        self.sent(p, start, target, sig, ret)

    def on_tgkill(self, p: Proc, start: float, t: float, args: str, ret: int | None) -> None:
        tgid, _, rest = args.partition(", ")
        self.sent(p, start, tgid, rest.partition(", ")[2], ret)

    on_tkill = on_kill  # tkill(tid, sig): the same shape; the target is a thread id

    def on_rt_sigqueueinfo(self, p: Proc, start: float, t: float, args: str, ret: int | None) -> None:
        """Sent by the caller, whatever si_pid it wrote into the siginfo (where the tracer shows these calls)."""
        target, _, rest = args.partition(", ")
        self.sent(p, start, target, rest.partition(", ")[0], ret)

    def on_rt_tgsigqueueinfo(self, p: Proc, start: float, t: float, args: str, ret: int | None) -> None:
        tgid, _, rest = args.partition(", ")
        self.on_rt_sigqueueinfo(p, start, t, tgid + ", " + rest.partition(", ")[2], ret)

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

    def note_read_ends(self, pid: int, fds: dict[int, tuple[str, bool]]) -> None:
        """Remember the pipes whose read end `pid`'s final descriptor table holds (sets: a pipe inherited by
        thousands of forks stays linear)."""
        for obj, _ in fds.values():
            if (read := _read_channel(obj)) is not None and pid in self.tree.procs:
                self.read_ends.setdefault(read, set()).add(pid)

    def held_read_ends(self) -> None:
        """Record, for each pipe, the processes whose descriptor table ends holding its read end: those that
        ended (noted when their table was dropped) and those still alive at the trace's end."""
        for pid, fds in self.fds.items():
            self.note_read_ends(pid, fds)
        held = self.read_ends
        for pipe_id, pids in held.items():
            if (pipe := self.tree.pipes.get(pipe_id)) is not None:
                pipe.readers = sorted(pids)
        for pipe_id in held.keys() | self.closed_reads.keys():
            if (pipe := self.tree.pipes.get(pipe_id)) is not None:
                pipe.held_by = sorted(held.get(pipe_id, set()) | self.closed_reads.get(pipe_id, set()))

    def finish(self, complete: bool) -> Tree:
        self.tree.end_time = self.end_time
        self.held_read_ends()
        for (tid, stream), (pid, t0, rest, cut) in list(self.partial.items()):
            self.add_line(pid, t0, stream, rest, cut, tid)
        self.tree.lines.sort(key=lambda ln: ln.t)
        for tid, (_, text) in self.pending.items():
            pid = self.tgid.get(tid, tid)
            proc = self.tree.procs.get(pid)
            if proc is not None and not proc.ended and proc.blocked_in is None:
                proc.blocked_in = text.split("(", 1)[0]
            thread = self.tree.threads.get(tid)
            if thread is not None and thread.end is None and thread.blocked_in is None:
                thread.blocked_in = text.split("(", 1)[0]
        self.threads_end()
        for p in self.tree.procs.values():
            if p.ended and p.signal and p.signal_sender is None:
                p.signal_sender = self.sender_of(p, p.signal)
        self.tree.truncated = self.tree.truncated or not complete
        main = self.tree.main
        if main is None:
            self.tree.problems.append("the trace is empty: the program was never started under the tracer")
        elif not main.ended:
            self.tree.problems.append(f"the trace has no end for the main process {main.pid}")
        for pid in self.unborn:
            self.tree.problems.append(f"process {pid} appears in the trace, but no traced call created it")
        return self.tree


_HANDLERS: dict[str, Callable[[_Parser, Proc, float, float, str, int | None], None]] = {
    name[3:]: fn for name, fn in vars(_Parser).items() if name.startswith("on_") and callable(fn)
}


def _stream(log: str | list[str], max_lines: int) -> Iterator[tuple[str, bool]]:
    """At most `max_lines` lines, each with whether it is complete (a str log's last line may not be)."""
    source = _lines(log) if isinstance(log, str) else ((line, True) for line in log)
    for i, item in enumerate(source):
        if i >= max_lines:
            yield "", False
            return
        yield item


def parse(log: str | Iterable[str], *, max_lines: int = 2_000_000) -> Tree:
    """Parse an `strace -f -ttt` log. A last line without a newline counts as truncation, as does a log past
    `max_lines` lines. A str log is streamed twice (births, then the rest), never split into a list."""
    text = log if isinstance(log, str) else list(log)
    found = _births(line for line, whole in _stream(text, max_lines) if whole)
    births = found.of
    parser = _Parser(births, found.unfinished)
    complete = True
    for raw, whole in _stream(text, max_lines):
        if not whole:
            complete = False
            break
        try:
            parser.line(raw)
        except (ValueError, IndexError, KeyError) as err:  # a shape this parser does not know: noted, not fatal
            parser.tree.problems.append(f"unparsed trace line ({type(err).__name__}): {raw[:120]!r}")
    tree = parser.finish(complete)
    # strace never follows a CLONE_UNTRACED child: only its parent's clone() call shows it was born; a process
    # the trace shows but never saw created (a hidden fork) is untraced too
    hidden = {pid for pid, (_, _, flags) in births.items() if "CLONE_UNTRACED" in flags}
    # a reused id joins two processes (or a thread and a process) into one: the tree cannot tell them apart,
    # and a process could hide behind an ended one of the same id, so the run is not judged either
    for pid in sorted(found.reused):
        tree.problems.append(f"id {pid} was given to two processes or threads (the kernel reused it)")
    tree.untraced = sorted(hidden | set(parser.unborn) | found.reused)
    return tree
