"""One submission: read it, pre-check it, run it in a sandbox, parse the trace, run the checks, report.

Nothing a student's program does raises from here: crashes, hangs, floods and attacks become a report.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from grader import __version__
from grader.catalog import Exercise
from grader.checks import Run, last_error
from grader.errors import SubmissionError
from grader.report import CheckResult, Report, Status
from grader.sandbox.base import RunOutcome, RunRequest, Sandbox
from grader.settings import Settings
from grader.trace import Tree, parse


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


def _not_run(exercise: Exercise, reason: str) -> list[CheckResult]:
    return [
        CheckResult(id=c.id, title=c.title, passed=False, score=0, max_score=c.points, message=f"not run: {reason}")
        for c in exercise.checks
    ]


def evaluate(exercise: Exercise, run: Run) -> list[CheckResult]:
    results = []
    for c in exercise.checks:
        verdict = c.fn(run)
        results.append(
            CheckResult(
                id=c.id, title=c.title, passed=verdict.passed, score=c.points if verdict.passed else 0,
                max_score=c.points, message=verdict.message,
            )
        )
    return results


def _still_running(tree: Tree, outcome: RunOutcome) -> str:
    alive = [p for p in tree.procs.values() if p.end is None or (outcome.kill_time and p.end >= outcome.kill_time - 0.05)]
    parts = [f"{p.pid}" + (" (main)" if p.pid == tree.root else "") + (f" blocked in {p.blocked_in}" if p.blocked_in else "") for p in alive]
    return ", ".join(parts) or "none"


def classify(outcome: RunOutcome, tree: Tree, settings: Settings) -> tuple[Status | None, str | None]:
    """The status a limit, a sandbox failure or a broken trace imposes; (None, None) lets the checks decide."""
    forks = f"; fork failed {tree.failed_forks} times at the limit of {settings.pids} processes" if tree.failed_forks else ""
    if outcome.infra_error:
        return "error", outcome.infra_error
    if outcome.untraced:
        return "error", f"processes {outcome.untraced} ran outside the tracer — a run that hides from the trace cannot be graded"
    reason = outcome.kill_reason
    if reason == "trace-limit" or outcome.trace_truncated:
        what = "too many processes" if tree.failed_forks else "too much activity"
        return "error", f"{what}: the trace passed its limit of {settings.trace_bytes >> 20} MiB and the run was stopped{forks}"
    if reason == "output-limit":
        total = (outcome.stdout_bytes + outcome.stderr_bytes) / (1 << 20)
        return "error", f"output limit: the program printed {total:.1f} MiB and was stopped (output is capped at {settings.output_bytes >> 20} MiB)"
    if reason == "untraced":
        return "error", "a process kept the output open after the traced program ended: it escaped the tracer"
    if reason == "timeout":
        return "timeout", f"time limit of {settings.timeout_s:g}s reached; still running: {_still_running(tree, outcome)}{forks}"
    oom = [p for p in tree.procs.values() if p.signal == "SIGKILL" and p.signal_sender is None and not (outcome.kill_time and (p.end or 0) >= outcome.kill_time - 0.05)]
    if outcome.oom_killed or oom:
        who = f": process {oom[0].pid} was killed by the kernel" if oom else ""
        return "error", f"memory limit of {settings.memory_mb} MiB exceeded{who}"
    fatal = [p for p in tree.problems if p.startswith(("the trace is empty", "the trace has no end"))]
    if fatal:
        return "error", fatal[0] + " — the run cannot be judged"
    return None, None


def judge(exercise: Exercise, outcome: RunOutcome, settings: Settings, *, sandbox: str = "docker") -> Report:
    """Turn a sandbox outcome into a report. Pure: tested on recorded outcomes."""
    tree = parse(outcome.trace)
    run = Run(tree, outcome)
    status, reason = classify(outcome, tree, settings)
    checks = evaluate(exercise, run) if tree.main is not None else _not_run(exercise, reason or "the program never ran")
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
        grader_version=__version__, exercise=exercise.id, status=status, score=round(score, 2),
        max_score=exercise.max_score, checks=checks, reason=reason,
        output=outcome.stdout.decode("utf-8", "replace"), output_truncated=outcome.stdout_bytes > len(outcome.stdout),
        stderr=outcome.stderr.decode("utf-8", "replace"), stderr_truncated=outcome.stderr_bytes > len(outcome.stderr),
        duration_s=round(outcome.wall_s, 3), sandbox=sandbox, tree=tree,
    )


def rejected(exercise: Exercise, source: bytes, problem: str, *, name: str, sandbox: str = "none") -> Report:
    """The report for a file that cannot run at all (see precheck): every check fails, nothing ran."""
    return Report(
        grader_version=__version__, exercise=exercise.id, status="failed", score=0, max_score=exercise.max_score,
        checks=_not_run(exercise, problem), reason=problem, duration_s=0.0, sandbox=sandbox,
        submission=name, sha256=hashlib.sha256(source).hexdigest(),
    )


def grade(exercise: Exercise, source: bytes, *, sandbox: Sandbox, settings: Settings, name: str = "solution.py") -> Report:
    """Grade one submission's bytes. Student faults become the report; only grader faults raise."""
    problem = precheck(source, name)
    if problem is not None:
        return rejected(exercise, source, problem, name=name, sandbox=sandbox.name)
    outcome = sandbox.run(RunRequest(source=source, settings=settings, dns=exercise.needs_dns))
    report = judge(exercise, outcome, settings, sandbox=sandbox.name)
    report.sha256 = hashlib.sha256(source).hexdigest()
    report.submission = name
    return report
