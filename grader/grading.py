"""One submission: read it, pre-check it, run it in a sandbox, parse the trace, run the checks, report.

Nothing a student's program does raises from here: crashes, hangs, floods and attacks become a report.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from grader import judge_version
from grader.catalog import Exercise
from grader.checks import Run, last_error
from grader.errors import SubmissionError
from grader.report import CheckResult, Report, Status
from grader.sandbox.base import RunOutcome, RunRequest, Sandbox
from grader.settings import Settings
from grader.trace import parse
from grader.tree import Tree


def load_submission(path: Path) -> bytes:
    """The submission's bytes, or one clear line saying why they cannot be had."""
    if not path.exists():
        raise SubmissionError(f"no file at {path} — pass the file with --file, or run from your course copy")
    if path.is_dir():
        raise SubmissionError(f"{path} is a folder — pass the solution's .py file with --file")
    if not path.is_file():  # a FIFO or device would block or never end
        raise SubmissionError(f"{path} is not a regular file — pass the solution's .py file with --file")
    try:
        return path.read_bytes()
    except OSError as err:
        raise SubmissionError(f"cannot read {path}: {err.strerror} — check the file's permissions") from err


def precheck(source: bytes, name: str = "solution.py") -> str | None:
    """Why the file cannot run at all (checked before any container starts), or None."""
    try:
        text = source.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        return f"{name} is not UTF-8 text (byte {err.start}) — save it as UTF-8"
    if not text.strip():
        return f"{name} is empty — write your solution in it"
    try:
        compile(text, name, "exec", dont_inherit=True)
    except SyntaxError as err:
        return f"syntax error in {name} line {err.lineno}: {err.msg}"
    except ValueError as err:  # e.g. NUL bytes
        return f"{name} cannot be compiled: {err}"
    return None


def not_run(exercise: Exercise, reason: str) -> list[CheckResult]:
    return [
        CheckResult(id=c.id, title=c.title, passed=False, score=0, max_score=c.points, message=f"not run: {reason}")
        for c in exercise.checks
    ]


def evaluate(exercise: Exercise, run: Run) -> list[CheckResult]:
    results = []
    for c in exercise.checks:
        verdict = c.judge(run)
        results.append(
            CheckResult(
                id=c.id,
                title=c.title,
                passed=verdict.passed,
                score=c.points if verdict.passed else 0,
                max_score=c.points,
                message=verdict.message,
            )
        )
    return results


def _still_running(tree: Tree, outcome: RunOutcome) -> str:
    """The processes alive when the run was stopped and what each was doing (from /proc, else the trace)."""

    def label(pid: int) -> str:
        return f"{pid}" + (" (main)" if pid == tree.root else "")

    if outcome.blocked:
        return ", ".join(f"{label(pid)} {what}" for pid, what in sorted(outcome.blocked.items()))
    cut = (outcome.kill_time or float("inf")) - 0.05
    alive = [p for p in tree.procs.values() if p.end is None or p.end >= cut]
    return ", ".join(label(p.pid) + (f" blocked in {p.blocked_in}" if p.blocked_in else "") for p in alive) or "none"


def tracer_errors(outcome: RunOutcome, tree: Tree) -> list[str]:
    """The tracer's own complaints, from its own stderr: the student writes to other pipes, so nothing the
    program prints can be taken for the tracer's words (the launcher reports there too, as the grader).

    And a process the trace shows without its creation, in a trace the tracer finished: the call that made
    it was hidden from the tracer (e.g. a seccomp filter of the program's own answering it), so the trace
    cannot be trusted to show every process.
    """
    found = [line.strip() for line in outcome.tracer_stderr.splitlines() if line.strip()]
    if outcome.kill_reason in (None, "leftover") and not tree.truncated:
        unseen = sorted(p.pid for p in tree.procs.values() if p.pid != tree.root and p.how == "root")
        if unseen:
            pids = ", ".join(map(str, unseen[:5]))
            found.append(f"process {pids} is in the trace but not its creation: a call was hidden from the tracer")
    return found


def _mib(n: float) -> str:
    return f"{n / (1 << 20):.1f} MiB"


def classify(outcome: RunOutcome, tree: Tree, settings: Settings) -> tuple[Status | None, str | None]:
    """The status a limit, a sandbox failure or a broken trace imposes; (None, None) lets the checks decide.

    Fail closed: whatever makes the trace incomplete or untrustworthy is an error, never full marks.
    """
    if outcome.infra_error:
        return "error", outcome.infra_error
    hidden = tree.untraced
    if outcome.untraced or hidden or outcome.kill_reason == "untraced":
        pids = sorted(set(outcome.untraced) | set(hidden))
        who = f"processes {', '.join(map(str, pids))}" if pids else "a process"
        return "error", f"untraced: {who} ran outside the tracer — a run that hides from the trace cannot be graded"
    if errors := tracer_errors(outcome, tree):
        return "error", f"the tracer failed ({errors[0][:200]}) — the run cannot be judged"
    reason = outcome.kill_reason
    printed = outcome.stdout_bytes + outcome.stderr_bytes
    if reason == "output-limit" or (reason == "trace-limit" and printed > settings.output_bytes):
        return "error", (
            f"output limit: the program printed {_mib(printed)} and was stopped "
            f"(output is kept up to {_mib(settings.output_bytes)} and stopped at {_mib(settings.output_stop_bytes)})"
        )
    if refused := tree.failed_forks:
        then = f"; the time limit of {settings.timeout_s:g}s was then reached" if reason == "timeout" else ""
        return "error", (
            f"too many processes: creating a process or thread failed {refused} times (EAGAIN) "
            f"at the limit of {settings.pids} processes and threads{then}"
        )
    aimed = {k.target for k in tree.kills if k.signal == "SIGKILL"}  # sent, or died sending (a self-kill)
    groups = min(aimed, default=0) < -1  # kill(-pgid): any process may have been in that group
    oom = [
        p
        for p in tree.procs.values()
        if p.signal == "SIGKILL"
        and p.signal_sender is None
        and not aimed & {p.pid, 0, -1}
        and not groups
        and not (outcome.kill_time and (p.end or 0) >= outcome.kill_time - 0.05)
    ]
    # the memory cgroup's count is authoritative where the sandbox could read it; else a SIGKILL nobody sent
    if outcome.oom_killed or (oom and outcome.oom_kills is None):
        who = f": process {oom[0].pid} was killed by the kernel (SIGKILL, no sender)" if oom else ""
        return "error", f"memory limit of {settings.memory_mb} MiB exceeded{who}"
    if reason == "trace-limit" or outcome.trace_truncated:
        return "error", f"too much activity: the trace passed its limit of {_mib(settings.trace_bytes)}; run stopped"
    if reason == "timeout":
        flood = f"; it printed {_mib(printed)} (output limit)" if printed > settings.output_bytes else ""
        alive = _still_running(tree, outcome)
        return "timeout", f"time limit of {settings.timeout_s:g}s reached; alive: {alive}{flood}"
    if tree.truncated:
        return "error", "the trace is truncated (the tracer was stopped mid-line) — the run cannot be judged"
    fatal = [p for p in tree.problems if p.startswith(("the trace is empty", "the trace has no end"))]
    if fatal:
        return "error", fatal[0] + " — the run cannot be judged"
    if reason == "leftover":
        main_end = tree.main.end if tree.main and tree.main.end else 0.0
        late = [p for p in tree.procs.values() if p.pid != tree.root and (p.end is None or p.end > main_end)]
        who = ", ".join(str(p.pid) for p in late[:8]) or "some"
        grace = settings.grace_s
        return None, f"processes outlived main: {who} ran on {grace:g}s after main exited; killed by the grader"
    return None, None


def judge(exercise: Exercise, outcome: RunOutcome, settings: Settings, *, sandbox: str = "docker") -> Report:
    """Turn a sandbox outcome into a report. Pure: tested on recorded outcomes."""
    tree = parse(outcome.trace)
    run = Run(tree, outcome)
    status, reason = classify(outcome, tree, settings)
    checks = evaluate(exercise, run) if tree.main is not None else not_run(exercise, reason or "the program never ran")
    score = sum(c.score for c in checks)
    if status == "error":
        score = 0.0
    elif status is None:
        status = "passed" if all(c.passed for c in checks) else "failed"
        main = tree.main
        if main is not None and main.exit_code not in (0, None) and (err := last_error(run)):
            reason = f"runtime error: {err}"
        if outcome.kill_reason == "leftover" and reason is None:
            reason = "processes outlived main and were killed by the grader"
    if status == "timeout":
        score = min(score, exercise.max_score - min(c.points for c in exercise.checks))
    return Report(
        grader_version=judge_version(),
        exercise=exercise.id,
        status=status,
        score=round(score, 2),
        max_score=exercise.max_score,
        checks=checks,
        reason=reason,
        output=outcome.stdout.decode("utf-8", "replace"),
        output_truncated=outcome.stdout_bytes > len(outcome.stdout),
        stderr=outcome.stderr.decode("utf-8", "replace"),
        stderr_truncated=outcome.stderr_bytes > len(outcome.stderr),
        duration_s=round(outcome.wall_s, 3),
        sandbox=sandbox,
        tree=tree,
    )


def rejected(
    exercise: Exercise, problem: str, *, name: str, source: bytes | None = None, sandbox: str = "none"
) -> Report:
    """The report for a submission that cannot run at all (unreadable, empty, a syntax error, too large):
    every check fails with the problem as its message; nothing ran."""
    return Report(
        grader_version=judge_version(),
        exercise=exercise.id,
        status="failed",
        score=0,
        max_score=exercise.max_score,
        checks=not_run(exercise, problem),
        reason=problem,
        duration_s=0.0,
        sandbox=sandbox,
        submission=name,
        sha256=hashlib.sha256(source).hexdigest() if source is not None else None,
    )


def grade(
    exercise: Exercise, source: bytes, *, sandbox: Sandbox, settings: Settings, name: str = "solution.py"
) -> Report:
    """Grade one submission's bytes. Student faults become the report; only grader faults raise."""
    problem = precheck(source, name)
    if problem is not None:
        return rejected(exercise, problem, name=name, source=source, sandbox=sandbox.name)
    outcome = sandbox.run(RunRequest(source=source, settings=settings, dns=exercise.needs_dns))
    report = judge(exercise, outcome, settings, sandbox=sandbox.name)
    report.sha256 = hashlib.sha256(source).hexdigest()
    report.submission = name
    return report
