"""ex4 — subprocess: two real nslookups, the second fed through a pipe, against the sandbox's dnsmasq."""

from __future__ import annotations

import signal

from grader.api import Pattern, Proc, Run, Verdict, fail, ok

EXIT = Pattern("Exit code: <r>")
FIRST_ARGV = ["nslookup", "www.python.org"]
COMMANDS = ("set q=mx", "python.org")
MX_QUERY = "query[MX] python.org"
SHELLS = {"sh", "dash", "bash", "zsh", "busybox"}


# Where the image's (and Debian's) real nslookup is: on the read-only root file system, so nothing a student
# writes can be found there (/bin is merged into /usr/bin). A program is known by the exact path the kernel
# executed, never by argv[0] or a file name: a symlink /tmp/nslookup -> python3 is not nslookup.
NSLOOKUP_PATHS = ("/usr/bin/nslookup", "/bin/nslookup")


def _base(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _ran_nslookup(p: Proc) -> bool:
    """The program `p` ended up running (its last successful exec) is the real nslookup."""
    return p.program in NSLOOKUP_PATHS


def nslookups(run: Run) -> list[Proc]:
    """Every process below main that ran the real nslookup program, in the order they started."""
    found = [p for p in run.processes if _ran_nslookup(p)]
    return sorted(found, key=lambda p: p.start or 0.0)


def impostors(run: Run) -> list[Proc]:
    """Processes that ran something named nslookup that is not the real one (a symlink or copy elsewhere)."""
    return [
        p for p in run.processes if not _ran_nslookup(p) and any(e.ok and _base(e.path) == "nslookup" for e in p.execs)
    ]


def _impostor_hint(run: Run) -> str:
    fakes = impostors(run)
    if not fakes:
        return ""
    shown_fakes = ", ".join(f"process {p.pid} ran {next(e.path for e in p.execs if e.ok)!r}" for p in fakes[:3])
    return f"; {shown_fakes}, which is not the system's nslookup ({NSLOOKUP_PATHS[0]})"


def argv(p: Proc) -> list[str]:
    return next((e.argv for e in reversed(p.execs) if e.ok), [])


def shown(p: Proc) -> str:
    return f"nslookup {p.pid} (`{' '.join(argv(p))}`)"


def real_status(p: Proc) -> int | None:
    """What subprocess reports as the return code: the exit status, or minus the signal number."""
    if p.exit_code is not None:
        return p.exit_code
    if p.signal is not None and hasattr(signal, p.signal):
        return -int(getattr(signal, p.signal))
    return None


def two_nslookups(run: Run) -> Verdict:
    found = nslookups(run)
    fake = _impostor_hint(run)
    if not found:
        return fail(
            f"no nslookup program was run{fake} — the output must come from running nslookup with subprocess "
            "(subprocess.call/run/Popen), not from print()"
        )
    if len(found) != 2:
        return fail(f"nslookup ran {len(found)} times ({', '.join(shown(p) for p in found)}){fake}; expected exactly 2")
    return ok(f"two nslookup programs ran: {shown(found[0])} and {shown(found[1])}")


def not_shell(run: Run) -> Verdict:
    main, found = run.main, nslookups(run)
    if main is None or not found:
        return fail("no nslookup program was run, so none was started by main")
    for p in found:
        parent = run.proc(p.parent)
        # whatever the process ran before it became nslookup (a shell that exec'd it, under any name)
        shell = next((e.path for e in p.execs if e.ok and e.path not in NSLOOKUP_PATHS), None)
        if shell is None and parent is not None and parent.program and _base(parent.program) in SHELLS:
            shell = f"{parent.program} (process {parent.pid})"
        if shell is not None:
            return fail(
                f"nslookup was started by a shell (os.system / shell=True): {shown(p)} ran under {shell}; "
                "pass the argument list to subprocess instead, e.g. subprocess.call(['nslookup', 'www.python.org'])"
            )
        if p.parent != main.pid:
            return fail(
                f"{shown(p)} is a child of process {p.parent}, not of main process {main.pid}; start it from main"
            )
    return ok(f"every nslookup ({', '.join(str(p.pid) for p in found)}) is a direct child of main process {main.pid}")


def first_lookup(run: Run) -> Verdict:
    found = nslookups(run)
    if not found:
        return fail("no nslookup program was run")
    args = argv(found[0])
    if args and [_base(args[0]), *args[1:]] == FIRST_ARGV:
        return ok(f"the first {shown(found[0])} looked up www.python.org")
    return fail(f"the first nslookup ran with argv {args}; expected {FIRST_ARGV}")


def piped_query(run: Run) -> Verdict:
    main, found = run.main, nslookups(run)
    if main is None or len(found) < 2:
        return fail(f"expected a second nslookup fed through a pipe; nslookup ran {len(found)} times")
    p = found[1]
    if argv(p)[1:]:
        return fail(
            f"the second nslookup ran with arguments {argv(p)[1:]}; "
            "run it with no arguments and feed it its commands on stdin"
        )
    if not (p.stdin or "").startswith("pipe:") or p.stdin_creator != main.pid:
        return fail(
            f"the second {shown(p)} read its stdin from {p.stdin}, not from a pipe of main — pass stdin=subprocess.PIPE"
        )
    pipe = run.tree.pipes[int((p.stdin or "").split(":")[1])]
    if main.pid not in pipe.written_by or not all(c in pipe.data for c in COMMANDS):
        sent = repr(pipe.data[:80]) if pipe.data else "nothing"
        return fail(
            f"main wrote {sent} into the stdin of nslookup {p.pid}; it needs the commands 'set q=mx', 'python.org', "
            "'exit' (communicate(b'set q=mx\\npython.org\\nexit\\n') or run(..., input=...))"
        )
    if MX_QUERY not in run.outcome.dns_log:
        return fail(
            f"main sent {pipe.data!r} to nslookup {p.pid} but the DNS server never received an MX query for python.org"
        )
    return ok(f"main fed {pipe.data!r} to nslookup {p.pid} through a pipe; the DNS server logged {MX_QUERY!r}")


def exit_codes(run: Run) -> Verdict:
    main, found = run.main, nslookups(run)
    if main is None or not found:
        return fail("no nslookup program was run, so no exit code can be checked")
    printed = [m for m in run.find(EXIT) if m.line.pid == main.pid]
    if len(printed) < len(found):
        return fail(
            f"main printed {len(printed)} 'Exit code: <r>' lines for {len(found)} nslookups; print one after each"
        )
    for i, (p, m) in enumerate(zip(found, printed, strict=False), start=1):
        real = real_status(p)
        if m.int("r") != real:
            return fail(
                f"main printed {m.line.text.strip()!r} (exit code line {i}), but {shown(p)} really "
                f"{p.describe_end()} — print the return code subprocess gives you (call()'s result, .returncode)"
            )
    return ok("the printed exit codes match: " + ", ".join(f"{p.pid} -> {real_status(p)}" for p in found))


def mx_answer(run: Run) -> Verdict:
    main, found = run.main, nslookups(run)
    if main is None:
        return fail("the program never started")
    mine = [ln.text.strip() for ln in run.tree.lines_of(main.pid) if "mail exchanger" in ln.text]
    if not mine:
        return fail(
            "main never printed the MX answer (a line with 'mail exchanger') — print the output you got from nslookup"
        )
    # the line must be one nslookup really produced, relayed by main: not typed in by hand. A set of its
    # lines, so that many printed lines against much output stay linear.
    texts = [pipe.data for pipe in run.tree.pipes.values() if any(p.pid in pipe.written_by for p in found)]
    texts += [ln.text for p in found for ln in run.tree.lines_of(p.pid)]
    produced = {line.strip() for text in texts for line in text.split("\n")}
    relayed = next((text for text in mine if text in produced), None)
    if relayed is None:
        return fail(f"main printed {mine[0]!r}, but no nslookup wrote that line — print what nslookup really answered")
    return ok(f"main printed nslookup's answer {relayed!r}")
