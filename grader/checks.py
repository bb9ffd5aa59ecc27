"""The observed run, line patterns, and the shared checks every exercise builds on.

A check is a plain function of the observed `Run` returning a `Verdict`; an exercise lists its checks
with points. Messages say what was observed against what was expected, with the real PIDs.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from grader.sandbox.outcome import RunOutcome
from grader.tree import Line, Proc, Thread, Tree

_PUNCT_END = re.compile(r"[\s.!。…:;,]*$")
_PLACEHOLDER = re.compile(r"<(\w+)>")


@dataclass(frozen=True)
class Verdict:
    passed: bool
    message: str
    # a failure the exercise's own race can explain (the course program loses it on a busy machine): the
    # grader runs the program again, RACE_RUNS times in all at most, and keeps the first run without one
    race: bool = False


def ok(message: str) -> Verdict:
    return Verdict(True, message)


def fail(message: str, *, race: bool = False) -> Verdict:
    """A failed check. `race=True` when the course program itself can fail this way through no fault of its
    own (its timing, on a busy machine): the program is then run again before the verdict stands."""
    return Verdict(False, message, race)


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    points: float
    fn: Callable[[Run], Verdict]
    # Tidiness (main's exit status, nothing left over, main's own lines) is credited only once the program
    # created a process or a thread: the untouched stub or an empty file must not collect points for doing nothing.
    tidy: bool = False

    def judge(self, run: Run) -> Verdict:
        if self.tidy and run.main is not None and not run.own_processes() and not run.threads():
            return fail(
                "main created no process or thread, so this is not credited yet: it counts once the program does"
            )
        return self.fn(run)


@dataclass(frozen=True)
class Match:
    line: Line
    values: dict[str, str]

    def int(self, name: str) -> int | None:
        v = self.values.get(name)
        return int(v) if v is not None and v.lstrip("-").isdigit() else None


class Pattern:
    """A contract line like `Process (<pid>) start...`: matched case-insensitively, tolerant of spacing
    and trailing punctuation; `<name>` captures a number (or, for `<word>`-style names listed in `text`,
    any text)."""

    def __init__(self, template: str, *, text: Iterable[str] = (), also: Iterable[str] = ()) -> None:
        """`also`: other wordings that count as this line, e.g. the course notes' own (students copy them)."""
        self.template = template
        texts = set(text)
        self.regexes = [self._compile(t, texts) for t in (template, *also)]

    @classmethod
    def _compile(cls, template: str, texts: set[str]) -> re.Pattern[str]:
        body = _PUNCT_END.sub("", template)
        parts: list[str] = []
        pos = 0
        for m in _PLACEHOLDER.finditer(body):
            parts.append(cls._literal(body[pos : m.start()]))
            name = m.group(1)
            parts.append(f"(?P<{name}>.+?)" if name in texts else rf"(?P<{name}>-?\d+)")
            pos = m.end()
        parts.append(cls._literal(body[pos:]))
        return re.compile(r"^\s*" + "".join(parts) + r"[\s.!。…:;,]*$", re.I)

    @staticmethod
    def _literal(text: str) -> str:
        out = []
        for ch in text:
            if ch.isspace():
                out.append(r"\s*")
            elif ch in "()[]":
                out.append(r"\s*" + re.escape(ch) + r"\s*")
            else:
                out.append(re.escape(ch))
        return "".join(out).replace(r"\s*\s*", r"\s*")

    def match(self, text: str) -> dict[str, str] | None:
        for regex in self.regexes:
            if m := regex.match(text):
                return m.groupdict()
        return None

    def __str__(self) -> str:
        return self.template


@dataclass
class Run:
    """What the submission did: the process tree from the trace, plus what the sandbox saw.

    The printed lines judged are the trace's (what each traced write call carried), never the sandbox's
    captured output: a program can make the two differ (a buffer changed by another thread during a write,
    bytes sent by calls the tracer does not show), and `untraced_output` tells when they do.
    """

    tree: Tree
    outcome: RunOutcome
    _cache: dict[str, list[Match]] = field(default_factory=dict)
    _procs: dict[str, list[Proc]] = field(default_factory=dict)

    @property
    def main(self) -> Proc | None:
        return self.tree.main

    def _memo(self, key: str, make: Callable[[], list[Proc]]) -> list[Proc]:
        """The process lists are asked for by every check, many times: computed once per run."""
        if key not in self._procs:
            self._procs[key] = make()
        return list(self._procs[key])

    @property
    def processes(self) -> list[Proc]:
        """Every process main created, directly or not (threads are not processes)."""
        return self._memo("processes", lambda: self.tree.descendants(self.main.pid) if self.main else [])

    def children(self, pid: int | None = None) -> list[Proc]:
        if pid is None:
            pid = self.main.pid if self.main else -1
        return self.tree.children(pid)

    def proc(self, pid: int | None) -> Proc | None:
        return self.tree.procs.get(pid) if pid is not None else None

    def find(self, pattern: Pattern, *, stream: str = "stdout") -> list[Match]:
        """Lines of `stream` matching `pattern`; a line cut at the kept length (trace.LINE_CHARS) never matches."""
        key = f"{stream}:{pattern.template}"
        if key not in self._cache:
            found = []
            for line in self.tree.lines:
                if line.stream == stream and not line.cut and (values := pattern.match(line.text)) is not None:
                    found.append(Match(line, values))
            self._cache[key] = found
        return self._cache[key]

    def helper(self, p: Proc) -> str | None:
        return mp_helper(p, self.tree)

    def own_processes(self) -> list[Proc]:
        """Created processes that are the program's own: multiprocessing's helpers are left out, exec'd
        programs (nslookup, ...) are kept."""
        return self._memo("own", lambda: [p for p in self.processes if self.helper(p) is None])

    def python_processes(self) -> list[Proc]:
        """Created processes that run Python code (forked copies or exec'd interpreters), not other programs."""
        return self._memo(
            "python",
            lambda: [p for p in self.processes if p.program is None or "python" in p.program.rsplit("/", 1)[-1]],
        )

    def workers(self) -> list[Proc]:
        """Processes created for main that run the student's Python code: multiprocessing's own helpers
        (resource tracker, forkserver) and exec'd programs (nslookup, ...) are left out."""
        return self._memo("workers", lambda: [p for p in self.python_processes() if self.helper(p) is None])

    def threads(self, pid: int | None = None) -> list[Thread]:
        """The threads of process `pid` (main by default) besides its main thread, in creation order."""
        if pid is None:
            pid = self.main.pid if self.main else -1
        return self.tree.threads_of(pid)

    def thread(self, tid: int | None) -> Thread | None:
        return self.tree.threads.get(tid) if tid is not None else None

    def by_main_thread(self, m: Match) -> bool:
        """Printed by main's own main thread (not by another of its threads, nor by another process)."""
        return self.main is not None and m.line.pid == self.main.pid and m.line.tid in (None, self.main.pid)

    def created_for_main(self, p: Proc) -> bool:
        """A child of main, or a child of main's forkserver (the forkserver start method forks workers there)."""
        main = self.main
        if main is None:
            return False
        if p.parent == main.pid:
            return True
        parent = self.proc(p.parent)
        return parent is not None and parent.parent == main.pid and self.helper(parent) == "forkserver"

    def since(self, t: float | None) -> str:
        """A trace time as seconds after main started, as the --tree view shows them (absolute times mean nothing)."""
        base = self.main.start if self.main and self.main.start is not None else 0.0
        return "never" if t is None else f"{t - base:.4f}s"

    def grader_killed(self, p: Proc) -> bool:
        """True when `p` ended only because the grader stopped the run (time limit, leftovers)."""
        kt = self.outcome.kill_time
        return kt is not None and p.signal == "SIGKILL" and p.signal_sender is None and (p.end or 0) >= kt - 0.05


# multiprocessing starts its helpers as `sys.executable [interpreter flags] -c "from multiprocessing.X import
# main; main(<literals>)"` (util.spawnv_passfds): the module names which helper it is
_HELPER_MODULES = {"multiprocessing.resource_tracker": "resource tracker", "multiprocessing.forkserver": "forkserver"}
_FLAG = re.compile(r"-[bBdEIOqsSuvR]+|-W\S+|-X\S+")


def _interpreter_flags(args: list[str]) -> bool:
    """Only interpreter flags that run nothing (no -c/-m of their own), as _args_from_interpreter_flags gives."""
    i = 0
    while i < len(args):
        if args[i] == "-X" and i + 1 < len(args) and not args[i + 1].startswith("-"):
            i += 2
        elif _FLAG.fullmatch(args[i]):
            i += 1
        else:
            return False
    return True


def _helper_code(code: str) -> str | None:
    """Which helper `code` starts: exactly the import of a helper's main and one call of it with literal
    arguments, nothing else (a student's code that merely names the module is not a helper)."""
    try:
        body = ast.parse(code).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if len(body) != 2 or not isinstance(body[0], ast.ImportFrom) or not isinstance(body[1], ast.Expr):
        return None
    imp, call = body[0], body[1].value
    if imp.level or [(a.name, a.asname) for a in imp.names] != [("main", None)]:
        return None
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name) or call.func.id != "main":
        return None
    try:
        for arg in [*call.args, *(k.value for k in call.keywords)]:
            ast.literal_eval(arg)
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
        return None
    return _HELPER_MODULES.get(imp.module or "")


def mp_helper(p: Proc, tree: Tree | None = None) -> str | None:
    """'resource tracker' or 'forkserver' when `p` is one of multiprocessing's own helper processes, known by
    how it was made: a single exec of the interpreter (main's own, when `tree` is given, and made by a process
    running Python) with interpreter flags and `-c` with exactly the helper's start-up code. Whatever else
    a process's command line says, it is the student's."""
    execs = [e for e in p.execs if e.ok]
    if len(execs) != 1:
        return None
    e = execs[0]
    argv = e.argv
    if len(argv) < 3 or argv[0] != e.path or argv[-2] != "-c" or not _interpreter_flags(argv[1:-2]):
        return None
    if tree is not None:
        main, parent = tree.main, tree.procs.get(p.parent) if p.parent is not None else None
        if main is None or e.path != main.program or parent is None or parent.program not in (None, main.program):
            return None
    elif "python" not in e.path.rsplit("/", 1)[-1]:
        return None
    return _helper_code(argv[-1])


def pickled_message(head: str) -> str | None:
    """The pickle inside a multiprocessing Connection message (what Queue.put and Pool tasks send through
    a pipe), from a pipe write's first bytes: a 4-byte big-endian length, then the pickle's PROTO opcode
    (0x80, decoded as U+FFFD). None for other writes (text, raw bytes, empty wake-ups)."""
    payload = head[4:]
    if len(head) > 6 and head[:2] == "\0\0" and payload.startswith("\ufffd"):
        return payload
    return None


NAMED_PIDS = 12  # a message names this many processes, then counts the rest (a fork bomb has thousands)


def names(procs: Iterable[Proc]) -> str:
    items = [str(p.pid) for p in procs]
    if len(items) > NAMED_PIDS:
        return ", ".join(items[:NAMED_PIDS]) + f" and {len(items) - NAMED_PIDS} more"
    return ", ".join(items) if items else "none"


def describe(p: Proc) -> str:
    prog = f" ({p.program.rsplit('/', 1)[-1]})" if p.program and "python" not in p.program else ""
    return f"process {p.pid}{prog}"


# -- shared checks: each returns a check function, configured by the exercise -------------------------


def exits_zero(
    pick: Callable[[Run], Proc | None], *, what: str, missing: Callable[[Run], str], expect: str
) -> Callable[[Run], Verdict]:
    """The process `pick` finds (the child, the writer, ...) exits with status 0; `missing` says why there is
    none to check, `expect` what a clean end looks like in this exercise."""

    def check(run: Run) -> Verdict:
        p = pick(run)
        if p is None:
            return fail(missing(run))
        if p.exit_code == 0:
            return ok(f"{what} {p.pid} exited with status 0")
        return fail(f"{what} {p.pid} {p.describe_end()}; expected {expect}")

    return check


def exit_status(expected: int = 0) -> Callable[[Run], Verdict]:
    def check(run: Run) -> Verdict:
        main = run.main
        if main is None or not main.ended:
            return fail("main process never ended")
        if main.exit_code == expected:
            return ok(f"main process {main.pid} exited with {expected}")
        err = last_error(run)
        return fail(
            f"main process {main.pid} {main.describe_end()}; expected exit status {expected}"
            + (f" — {err}" if err else "")
        )

    return check


def process_count(
    expected: int, *, what: str = "child process", created_by_main: bool = True
) -> Callable[[Run], Verdict]:
    """Exactly `expected` processes created (directly by main, or anywhere below it)."""

    def check(run: Run) -> Verdict:
        if run.main is None:
            return fail("the program never started")
        procs = [p for p in run.children() if run.helper(p) is None] if created_by_main else run.own_processes()
        plural = what if expected == 1 else what + "es" if what.endswith("process") else what + "s"
        seen = f"main process {run.main.pid} created {len(procs)} ({names(procs)})"
        if len(procs) == expected:
            return ok(f"{seen}; expected {expected} {plural}")
        return fail(f"{seen}; expected exactly {expected} {plural}")

    return check


def children_reaped() -> Callable[[Run], Verdict]:
    def check(run: Run) -> Verdict:
        procs = run.own_processes()
        if not procs:
            return fail("no child process was created, so none was reaped")
        unreaped = [p for p in procs if p.reaped_by != p.parent]
        if not unreaped:
            return ok(f"every child ({names(procs)}) was waited for by its parent")
        details = "; ".join(
            f"{p.pid} was not waited for by its parent {p.parent}"
            + (f" (reaped by {p.reaped_by})" if p.reaped_by else "")
            for p in unreaped[:NAMED_PIDS]
        )
        more = f"; and {len(unreaped) - NAMED_PIDS} more" if len(unreaped) > NAMED_PIDS else ""
        return fail(f"{details}{more} — call os.wait()/os.waitpid() (or join()) in the parent")

    return check


def nothing_left_running() -> Callable[[Run], Verdict]:
    def check(run: Run) -> Verdict:
        main = run.main
        if main is None or main.end is None:
            return fail("main process never ended")
        if run.grader_killed(main):  # the grader ended everything at once: nothing "outlived" main, but
            alive = [p for p in run.processes if p.end is None or run.grader_killed(p)]  # nothing ended either
            also = f" and its children ({names(alive)})" if alive else ""
            return fail(f"main process {main.pid} never exited by itself; the grader had to stop it{also}")
        # multiprocessing's helpers end by themselves once main is gone; they are not the student's
        late = [
            p
            for p in run.processes
            if (p.end is None or p.end > main.end + 1e-4) and not (run.helper(p) and p.exit_code is not None)
        ]
        if not late:
            return ok(f"every process had ended when main process {main.pid} exited")
        parts = []
        for p in late:
            state = "was killed by the grader" if run.grader_killed(p) or p.end is None else p.describe_end()
            parts.append(f"{describe(p)} outlived main by {((p.end or main.end) - main.end):.2f}s and {state}")
        return fail("; ".join(parts) + " — wait for every child before main exits")

    return check


def killed_by(
    target: Callable[[Run], Proc | None], signal: str, sender: Callable[[Run], Proc | None], *, what: str
) -> Callable[[Run], Verdict]:
    """The process picked by `target` ended by `signal`, sent by the process picked by `sender`."""

    def check(run: Run) -> Verdict:
        p, s = target(run), sender(run)
        if p is None or s is None:
            return fail(f"no {what} to check")
        if p.signal == signal and p.signal_sender == s.pid:
            return ok(f"{what} {p.pid} was killed by {signal} sent by {s.pid}")
        return fail(f"{what} {p.pid} {p.describe_end()}; expected killed by {signal} sent by process {s.pid}")

    return check


def last_error(run: Run) -> str | None:
    """The last line of a Python traceback on stderr, if the program crashed."""
    lines = [ln.strip() for ln in run.outcome.stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    if any(ln.startswith("Traceback") for ln in lines):
        return lines[-1]
    return None


def printed(run: Run, pattern: Pattern, by: Proc | None, expect: dict[str, tuple[int, str]], *, who: str) -> Verdict:
    """`by` printed a line matching `pattern` whose numbers equal the real ones in `expect`.

    expect maps a placeholder to (real value, what that value is), e.g. {"pid": (15, "its real PID")}.
    """
    if by is None:
        return fail(f"no {who} to print {str(pattern)!r}")
    matches = run.find(pattern)
    if not matches:
        return fail(f"no line like {str(pattern)!r} was printed")
    mine = [m for m in matches if m.line.pid == by.pid]
    if not mine:
        writers = sorted({m.line.pid for m in matches})
        return fail(
            f"{str(pattern)!r} was printed by process {', '.join(map(str, writers))}, not by the {who} ({by.pid})"
        )
    wrong: list[str] = []
    for m in mine:
        bad = [
            f"<{k}> is {m.values.get(k)} but {desc} is {real}" for k, (real, desc) in expect.items() if m.int(k) != real
        ]
        if not bad:
            return ok(f"the {who} ({by.pid}) printed {m.line.text.strip()!r}")
        wrong.append(f"{m.line.text.strip()!r}: " + "; ".join(bad))
    return fail(f"the {who} ({by.pid}) printed " + " / ".join(wrong))


def main_prints(first: Pattern, then: Pattern, *, hint: str) -> Callable[[Run], Verdict]:
    """Main prints `first` with its real <pid>, and the fixed line `then`."""

    def check(run: Run) -> Verdict:
        main = run.main
        if main is None:
            return fail("the program never started")
        verdict = printed(run, first, main, {"pid": (main.pid, "its real PID")}, who="main process")
        if not verdict.passed:
            return verdict
        if not any(m.line.pid == main.pid for m in run.find(then)):
            return fail(f"main process {main.pid} never printed {str(then)!r}; {hint}")
        return ok(f"main process {main.pid} printed {str(first)!r} with its real PID and {str(then)!r}")

    return check


def printed_after_exit(
    pattern: Pattern, procs: Callable[[Run], list[Proc]], *, what: str, hint: str
) -> Callable[[Run], Verdict]:
    """Main prints `pattern` only once every process `procs` picks has ended (a line after a process ended)."""

    def check(run: Run) -> Verdict:
        main = run.main
        if main is None:
            return fail("the program never started")
        mine = [m for m in run.find(pattern) if m.line.pid == main.pid]
        if not mine:
            return fail(f"main process {main.pid} never printed {str(pattern)!r}; {hint}")
        waited = procs(run)
        if not waited:
            return fail(f"{str(pattern)!r} was printed, but main had no {what} to wait for")
        said = mine[0].line.t
        running = [p for p in waited if p.end is None or p.end > said]
        if running:
            late = ", ".join(f"{p.pid} (ended {run.since(p.end)})" for p in running)
            return fail(f"main printed {str(pattern)!r} at {run.since(said)} while {what} {late} still ran — {hint}")
        last = max(p.end or 0.0 for p in waited)
        return ok(
            f"main printed {str(pattern)!r} at {run.since(said)}, after the last {what} ended at {run.since(last)}"
        )

    return check


# -- run-wide rules for grading.classify: pure functions of the tree and the outcome --------------------------


def untraced_output(tree: Tree, outcome: RunOutcome) -> str | None:
    """Why the captured output cannot be judged, or None: it holds more bytes than the trace saw written to
    that stream (counting writes the writer died in as complete). Such bytes came through calls the tracer
    does not show (vmsplice, splice, sendfile, a file descriptor the trace did not see opened on the output),
    so what the checks would judge is not what was printed. strace's own complaints reach stderr the same
    way, and a student can write lines that look like them: call this before reading stderr for the tracer's
    words, and never quote them (the reason here quotes nothing the program wrote)."""
    for stream in ("stdout", "stderr"):
        got = outcome.stdout_bytes if stream == "stdout" else outcome.stderr_bytes
        seen = tree.written_max.get(stream, 0)
        if got > seen:
            return (
                f"untraced output: {stream} holds {got} bytes but the trace saw at most {seen} written to it — "
                "output written around the traced calls (vmsplice, splice, sendfile, ...), or by the tracer "
                "itself, cannot be judged"
            )
    return None


def dropped_output(tree: Tree) -> str | None:
    """Why the run's lines were not all judged, or None: a process printed more lines than are kept
    (trace.LINES_PER_PROCESS, LINES_TOTAL), so a line past the cap could decide a check unseen."""
    if not tree.lines_dropped:
        return None
    total = sum(tree.lines_dropped.values())
    worst = max(tree.lines_dropped, key=lambda pid: tree.lines_dropped[pid])
    return (
        f"output limit: {total} printed lines were past the number kept for judging "
        f"(process {worst} alone printed {tree.lines_dropped[worst]} more) — print only what the exercise asks"
    )


# -- threads: who printed a line is the thread whose write the trace shows, never the name the line spells -------


def thread_label(run: Run, tid: int | None) -> str:
    """How a message names the writer of a line: main's main thread, one of main's threads, or a process."""
    main = run.main
    if main is not None and tid == main.pid:
        return f"main thread {tid}"
    thread = run.thread(tid)
    if thread is None:
        return f"process {tid}"
    named = f" (named {thread.name!r} by the program)" if thread.name else ""
    return f"thread {tid}{named}" + ("" if main is not None and thread.pid == main.pid else f" of process {thread.pid}")


def writer_label(run: Run, m: Match) -> str:
    line = m.line
    if line.tid is not None and line.tid != line.pid:
        return thread_label(run, line.tid)
    if run.main is not None and line.pid == run.main.pid:
        return f"main thread {line.pid}"
    return f"process {line.pid}"


def thread_count(expected: int, *, what: str) -> Callable[[Run], Verdict]:
    """Main's process ran exactly `expected` threads besides its main thread; `what` names them. A child
    process is not a thread: the message says so when the program made processes instead."""

    def check(run: Run) -> Verdict:
        main = run.main
        if main is None:
            return fail("the program never started")
        threads = run.threads()
        seen = f"main process {main.pid} ran {len(threads)} thread(s) besides its main thread"
        if threads:
            more = f" and {len(threads) - NAMED_PIDS} more" if len(threads) > NAMED_PIDS else ""
            seen += f" ({', '.join(thread_label(run, t.tid) for t in threads[:NAMED_PIDS])}{more})"
        if len(threads) == expected:
            return ok(f"{seen}: {what}")
        procs = run.workers()
        instead = (
            f"; it created child process(es) {names(procs)} instead — a process is not a thread: use threading.Thread"
            if procs and not threads
            else ""
        )
        return fail(f"{seen}; expected exactly {expected}: {what}{instead}")

    return check


JOIN_SLACK_S = 0.25


def thread_done_by(thread: Thread, t: float) -> bool:
    """The thread had finished by time `t`: it exited before, or its last traced call had returned by then and
    it exited within JOIN_SLACK_S after (join() returns when the thread releases its state lock, in C, just
    before its exit call; a thread still printing, sleeping or depositing makes calls after `t`)."""
    if thread.end is not None and thread.end <= t:
        return True
    return thread.end is not None and thread.end <= t + JOIN_SLACK_S and (thread.done or 0.0) <= t


def printed_after_threads_ended(
    pattern: Pattern, threads: Callable[[Run], list[Thread]], *, hint: str
) -> Callable[[Run], Verdict]:
    """Main's main thread prints `pattern` only once every thread `threads` picks has ended (joined)."""

    def check(run: Run) -> Verdict:
        main = run.main
        if main is None:
            return fail("the program never started")
        mine = [m for m in run.find(pattern) if run.by_main_thread(m)]
        if not mine:
            return fail(f"main thread {main.pid} never printed {str(pattern)!r}; {hint}")
        waited = threads(run)
        if not waited:
            return fail(f"{str(pattern)!r} was printed, but main had no thread to wait for")
        said = mine[0].line.t
        running = [t for t in waited if not thread_done_by(t, said)]
        if running:
            late = ", ".join(f"{thread_label(run, t.tid)} (ended {run.since(t.end)})" for t in running)
            return fail(f"main printed {str(pattern)!r} at {run.since(said)} while {late} still ran — {hint}")
        last = max(min(t.end or 0.0, t.done or t.end or 0.0) for t in waited)
        return ok(
            f"main printed {str(pattern)!r} at {run.since(said)}, after every thread it waited for had finished "
            f"(the last one's last call returned at {run.since(last)})"
        )

    return check
