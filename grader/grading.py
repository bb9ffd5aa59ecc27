"""One submission: read it, pre-check it, run it in a sandbox, parse the trace, run the checks, report.

Nothing a student's program does raises from here: crashes, hangs, floods and attacks become a report.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from grader.catalog import Exercise
from grader.checks import Check, Run, dropped_output, last_error, untraced_output
from grader.errors import GraderError, SubmissionError
from grader.report import CheckResult, Fault, Report, Status
from grader.sandbox.base import RunRequest, Sandbox
from grader.sandbox.outcome import RunOutcome
from grader.settings import Settings
from grader.submission import precheck
from grader.trace import parse
from grader.tree import Proc, Tree


def not_run(exercise: Exercise, reason: str) -> list[CheckResult]:
    return [
        CheckResult(id=c.id, title=c.title, passed=False, score=0, max_score=c.points, message=f"not run: {reason}")
        for c in exercise.checks
    ]


def _check(c: Check, run: Run) -> tuple[CheckResult, str | None]:
    """One check's result, and why it broke when the check itself raised (a grader bug, never the student's)."""
    try:
        verdict = c.judge(run)
    except Exception as err:  # noqa: BLE001 — one broken check must not lose the run, the batch or the CI job
        broke = f"{type(err).__name__}: {str(err)[:200]}"
        message = f"not judged: this check failed inside the grader ({broke})"
        return CheckResult(id=c.id, title=c.title, passed=False, score=0, max_score=c.points, message=message), broke
    result = CheckResult(
        id=c.id,
        title=c.title,
        passed=verdict.passed,
        score=c.points if verdict.passed else 0,
        max_score=c.points,
        message=_bounded(verdict.message),
        race=verdict.race and not verdict.passed,
    )
    return result, None


MESSAGE_CHARS = 2000  # a message quotes what a program did, which a program can make as long as it likes


def _bounded(message: str) -> str:
    """A check's message cut to MESSAGE_CHARS, saying how much was left out (every report format shows it)."""
    if len(message) <= MESSAGE_CHARS:
        return message
    return message[:MESSAGE_CHARS] + f" … ({len(message) - MESSAGE_CHARS} more characters)"


def evaluate(exercise: Exercise, run: Run) -> tuple[list[CheckResult], dict[str, str]]:
    """Every check's result, and the checks that raised (check id -> the exception)."""
    results, broken = [], {}
    for c in exercise.checks:
        result, broke = _check(c, run)
        results.append(result)
        if broke is not None:
            broken[c.id] = broke
    return results, broken


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
    A process the trace shows without its creation is not the tracer's fault: the parser lists it in
    `tree.untraced` (a call hidden from the tracer, e.g. by a seccomp filter of the program's own)."""
    return [line.strip() for line in outcome.tracer_stderr.splitlines() if line.strip()]


def _mib(n: float) -> str:
    return f"{n / (1 << 20):.1f} MiB"


@dataclass(frozen=True)
class Imposed:
    """What a limit, a sandbox failure or a broken trace imposes on the verdict; no status lets the checks decide.

    `fault` is "grader" when the cause is the grader or its host, not the student's program."""

    status: Status | None = None
    reason: str | None = None
    fault: Fault | None = None


@dataclass(frozen=True)
class Facts:
    """What the rules of `classify` read: the sandbox's outcome, the parsed trace, the limits."""

    outcome: RunOutcome
    tree: Tree
    settings: Settings
    dns: bool = False

    @property
    def printed(self) -> int:
        return self.outcome.stdout_bytes + self.outcome.stderr_bytes


def infra(f: Facts) -> Imposed | None:
    """The sandbox could not run the program (engine, image, container, no result)."""
    if not f.outcome.infra_error:
        return None
    # a container killed from outside for outliving its time limit is the program's doing
    return Imposed("error", f.outcome.infra_error, None if f.outcome.kill_reason == "timeout" else "grader")


def dns_server(f: Facts) -> Imposed | None:
    """The exercise needs the grader's DNS server and it did not start."""
    if not (f.dns and f.outcome.dns_error):
        return None
    why = f.outcome.dns_error[:200]
    return Imposed(
        "error", f"the grader's DNS server (dnsmasq) failed to start: {why} — the run cannot be judged", "grader"
    )


def untraced(f: Facts) -> Imposed | None:
    """A process of the student's ran outside the tracer."""
    hidden = f.tree.untraced
    if not (f.outcome.untraced or hidden or f.outcome.kill_reason == "untraced"):
        return None
    pids = sorted(set(f.outcome.untraced) | set(hidden))
    who = f"processes {', '.join(map(str, pids))}" if pids else "a process"
    return Imposed(
        "error", f"untraced: {who} ran outside the tracer — a run that hides from the trace cannot be graded"
    )


def output_around_trace(f: Facts) -> Imposed | None:
    """The captured output holds bytes no traced write put there (vmsplice, splice, ...). Only for a run that
    ended by itself or by the grace kill: a run stopped at a limit may have a trace cut short of its last writes."""
    complete = f.tree.main is not None and f.tree.main.ended and not f.tree.truncated
    if f.outcome.kill_reason not in (None, "leftover") or f.outcome.trace_truncated or not complete:
        return None
    why = untraced_output(f.tree, f.outcome)
    return Imposed("error", why) if why else None


def lines_past_cap(f: Facts) -> Imposed | None:
    """More printed lines than are kept for judging: a line past the cap could decide a check unseen."""
    why = dropped_output(f.tree)
    return Imposed("error", why) if why else None


def tracer(f: Facts) -> Imposed | None:
    """The tracer itself complained."""
    if not (errors := tracer_errors(f.outcome, f.tree)):
        return None
    return Imposed("error", f"the tracer failed ({errors[0][:200]}) — the run cannot be judged", "grader")


def output(f: Facts) -> Imposed | None:
    """The program printed past the output limit."""
    reason, s = f.outcome.kill_reason, f.settings
    if not (reason == "output-limit" or (reason == "trace-limit" and f.printed > s.output_bytes)):
        return None
    return Imposed(
        "error",
        f"output limit: the program printed {_mib(f.printed)} and was stopped "
        f"(output is kept up to {_mib(s.output_bytes)} and stopped at {_mib(s.output_stop_bytes)})",
    )


def pids(f: Facts) -> Imposed | None:
    """Creating a process or thread failed at the pids limit."""
    if not (refused := f.tree.failed_forks):
        return None
    then = (
        f"; the time limit of {f.settings.timeout_s:g}s was then reached" if f.outcome.kill_reason == "timeout" else ""
    )
    return Imposed(
        "error",
        f"too many processes: creating a process or thread failed {refused} times (EAGAIN) "
        f"at the limit of {f.settings.pids} processes and threads{then}",
    )


def _killed_by_kernel(f: Facts) -> list[Proc]:
    """Processes that died of a SIGKILL nobody in the trace sent (nor the grader's stop at the limit)."""
    aimed = {k.target for k in f.tree.kills if k.signal == "SIGKILL"}  # sent, or died sending (a self-kill)
    if min(aimed, default=0) < -1:  # kill(-pgid): any process may have been in that group
        return []
    kill_time = f.outcome.kill_time
    return [
        p
        for p in f.tree.procs.values()
        if p.signal == "SIGKILL"
        and p.signal_sender is None
        and not aimed & {p.pid, 0, -1}
        and not (kill_time and (p.end or 0) >= kill_time - 0.05)
    ]


def memory(f: Facts) -> Imposed | None:
    """The memory limit was hit."""
    oom = _killed_by_kernel(f)
    # the memory cgroup's count is authoritative where the sandbox could read it; else a SIGKILL nobody sent
    if not (f.outcome.oom_killed or (oom and f.outcome.oom_kills is None)):
        return None
    who = f": process {oom[0].pid} was killed by the kernel (SIGKILL, no sender)" if oom else ""
    return Imposed("error", f"memory limit of {f.settings.memory_mb} MiB exceeded{who}")


def trace_size(f: Facts) -> Imposed | None:
    """The trace passed its size limit."""
    if not (f.outcome.kill_reason == "trace-limit" or f.outcome.trace_truncated):
        return None
    return Imposed(
        "error", f"too much activity: the trace passed its limit of {_mib(f.settings.trace_bytes)}; run stopped"
    )


def timeout(f: Facts) -> Imposed | None:
    """The time limit was reached."""
    if f.outcome.kill_reason != "timeout":
        return None
    flood = f"; it printed {_mib(f.printed)} (output limit)" if f.printed > f.settings.output_bytes else ""
    alive = _still_running(f.tree, f.outcome)
    return Imposed("timeout", f"time limit of {f.settings.timeout_s:g}s reached; alive: {alive}{flood}")


def broken_trace(f: Facts) -> Imposed | None:
    """The trace is truncated, empty or has no end: the tracer's file, out of the program's reach."""
    if f.tree.truncated:
        return Imposed(
            "error", "the trace is truncated (the tracer was stopped mid-line) — the run cannot be judged", "grader"
        )
    fatal = [p for p in f.tree.problems if p.startswith(("the trace is empty", "the trace has no end"))]
    if fatal:
        return Imposed("error", fatal[0] + " — the run cannot be judged", "grader")
    return None


def leftover(f: Facts) -> Imposed | None:
    """Processes outlived main and were killed: the checks still decide, with this as the reason."""
    if f.outcome.kill_reason != "leftover":
        return None
    tree = f.tree
    main_end = tree.main.end if tree.main and tree.main.end else 0.0
    late = [p for p in tree.procs.values() if p.pid != tree.root and (p.end is None or p.end > main_end)]
    who = ", ".join(str(p.pid) for p in late[:8]) or "some"
    grace = f.settings.grace_s
    return Imposed(None, f"processes outlived main: {who} ran on {grace:g}s after main exited; killed by the grader")


# The documented order: the first rule that applies decides. Infrastructure first (nothing else can be
# trusted), then what hides from or breaks the trace, then the limits, then what lets the checks decide.
RULES: tuple[Callable[[Facts], Imposed | None], ...] = (
    infra,
    dns_server,
    untraced,
    tracer,
    output_around_trace,
    output,
    lines_past_cap,
    pids,
    memory,
    trace_size,
    timeout,
    broken_trace,
    leftover,
)


def classify(outcome: RunOutcome, tree: Tree, settings: Settings, *, dns: bool = False) -> Imposed:
    """The status a limit, a sandbox failure or a broken trace imposes; Imposed() lets the checks decide.

    Fail closed: whatever makes the trace incomplete or untrustworthy is an error, never full marks.
    """
    facts = Facts(outcome, tree, settings, dns)
    for rule in RULES:
        if (imposed := rule(facts)) is not None:
            return imposed
    return Imposed()


def settle(exercise: Exercise, status: Status, reason: str | None, checks: list[CheckResult]) -> list[CheckResult]:
    """The one rule that makes the checks' points add up to the total, in every status.

    - error: the run could not be judged, so no check counts: each scores 0 and says why.
    - timeout: a run that does not end is never full marks. Checks that failed already keep it below full
      marks; when every check passed, the cheapest one (the last of them) is not counted, and says so.
    - passed and failed: each check keeps its own points.
    """
    if status == "error":
        why = reason or "the run could not be judged"
        return [
            c
            if not c.passed and c.message.startswith("not run:")
            else c.model_copy(update={"passed": False, "score": 0, "message": f"not counted: {why} (saw: {c.message})"})
            for c in checks
        ]
    if status == "timeout" and checks and all(c.passed for c in checks):
        cheapest = min(c.max_score for c in checks)
        last = max(i for i, c in enumerate(checks) if c.max_score == cheapest)
        c = checks[last]
        note = "not counted: the time limit was reached, and a run that does not end never gets full marks"
        checks = list(checks)
        checks[last] = c.model_copy(update={"passed": False, "score": 0, "message": f"{note} (saw: {c.message})"})
    return checks


def judge(exercise: Exercise, outcome: RunOutcome, settings: Settings, *, sandbox: str = "docker") -> Report:
    """Turn a sandbox outcome into a report. Pure: tested on recorded outcomes. Never raises: a grader bug
    while judging (the parser, a check) is an `error` report whose fault is the grader's."""
    try:
        return _judge(exercise, outcome, settings, sandbox=sandbox)
    except Exception as err:  # noqa: BLE001 — one broken run must not stop a batch or lose a CI job's other reports
        why = f"the grader failed while judging the run ({type(err).__name__}: {str(err)[:200]})"
        return broken(exercise, why, outcome=outcome, sandbox=sandbox)


def _judge(exercise: Exercise, outcome: RunOutcome, settings: Settings, *, sandbox: str) -> Report:
    tree = parse(outcome.trace)
    run = Run(tree, outcome)
    imposed = classify(outcome, tree, settings, dns=exercise.needs_dns)
    status, reason, fault = imposed.status, imposed.reason, imposed.fault
    if tree.main is not None:
        checks, raised = evaluate(exercise, run)
    else:
        checks, raised = not_run(exercise, reason or "the program never ran"), {}
    if raised and status != "error":  # a student's error stands; otherwise the broken check decides
        check_id, why = next(iter(raised.items()))
        status, fault = "error", "grader"
        reason = f"the grader's check {check_id} failed ({why}) — a grader bug, not the program's: report it"
    if status is None:
        status = "passed" if all(c.passed for c in checks) else "failed"
        main = tree.main
        if main is not None and main.exit_code not in (0, None) and (err := last_error(run)):
            reason = f"runtime error: {err}"
        if outcome.kill_reason == "leftover" and reason is None:
            reason = "processes outlived main and were killed by the grader"
    checks = settle(exercise, status, reason, checks)
    return Report(
        grader_version=exercise.judge_version,
        exercise=exercise.id,
        status=status,
        score=round(sum(c.score for c in checks), 2),
        max_score=exercise.max_score,
        checks=checks,
        reason=reason,
        fault=fault,
        **_captured(outcome),
        sandbox=sandbox,
        tree=tree,
    )


def _captured(outcome: RunOutcome) -> dict[str, Any]:
    """The report's fields for what the program printed and how long it ran, as the sandbox captured them."""
    return {
        "output": outcome.stdout.decode("utf-8", "replace"),
        "output_truncated": outcome.stdout_bytes > len(outcome.stdout),
        "stderr": outcome.stderr.decode("utf-8", "replace"),
        "stderr_truncated": outcome.stderr_bytes > len(outcome.stderr),
        "duration_s": round(outcome.wall_s, 3),
    }


def broken(exercise: Exercise, reason: str, *, outcome: RunOutcome | None = None, sandbox: str = "none") -> Report:
    """The report for a run the grader itself could not judge (its fault, never the student's 0 to keep)."""
    outcome = outcome or RunOutcome()
    return Report(
        grader_version=exercise.judge_version,
        exercise=exercise.id,
        status="error",
        score=0,
        max_score=exercise.max_score,
        checks=not_run(exercise, reason),
        reason=reason,
        fault="grader",
        **_captured(outcome),
        sandbox=sandbox,
    )


def rejected(
    exercise: Exercise, problem: str, *, name: str, source: bytes | None = None, sandbox: str = "none"
) -> Report:
    """The report for a submission that cannot run at all (unreadable, empty, a syntax error, too large):
    every check fails with the problem as its message; nothing ran."""
    return Report(
        grader_version=exercise.judge_version,
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
    """Grade one submission's bytes. Student faults become the report; so does the grader's own failure
    while judging (an `error` whose fault is the grader's). Only a sandbox that cannot run at all raises."""
    settings = exercise.settings(settings)  # the limits the exercise raises (a longer timeout, ...)
    problem = precheck(source, name, max_bytes=settings.source_bytes)
    if problem is not None:
        return rejected(exercise, problem, name=name, source=source, sandbox=sandbox.name)

    def once() -> Report:
        return one_run(exercise, source, sandbox=sandbox, settings=settings, name=name)

    return again_on_race(once(), once)


def one_run(exercise: Exercise, source: bytes, *, sandbox: Sandbox, settings: Settings, name: str) -> Report:
    """One run of `source` in `sandbox` with `settings` (the exercise's limits already raised), judged."""
    outcome = sandbox.run(run_request(exercise, source, settings))
    return judged(exercise, source, outcome, settings, sandbox=sandbox.name, name=name)


RACE_RUNS = 3  # runs in all for a program whose failures the exercise's own race explains


def raced(report: Report) -> bool:
    """The run failed only in ways the exercise's own race can explain (every failed check says so): the
    course program itself ends like this on a busy machine, so one run does not decide."""
    failed = [c for c in report.checks if not c.passed]
    return report.status == "failed" and bool(failed) and all(c.race for c in failed)


def again_on_race(first: Report, once: Callable[[], Report]) -> Report:
    """`first`, or when it raced, the first of up to RACE_RUNS - 1 more runs (`once`) that did not, else the
    last: a verdict that a busy machine cannot decide. The report counts the runs."""
    report, runs = first, 1
    while raced(report) and runs < RACE_RUNS:
        report, runs = once(), runs + 1
    report.runs = runs
    return report


def run_request(exercise: Exercise, source: bytes, settings: Settings) -> RunRequest:
    return RunRequest(source=source, settings=settings, dns=exercise.needs_dns)


def judged(
    exercise: Exercise, source: bytes, outcome: RunOutcome, settings: Settings, *, sandbox: str, name: str
) -> Report:
    """The report on one run of `source`, named after the file it came from."""
    report = judge(exercise, outcome, settings, sandbox=sandbox)
    report.sha256 = hashlib.sha256(source).hexdigest()
    report.submission = name
    return report


def grade_or_error(
    exercise: Exercise, source: bytes, *, sandbox: Sandbox, settings: Settings, name: str = "solution.py"
) -> Report:
    """grade(), for callers that must keep going (a batch, a CI job): a sandbox that cannot run (the image is
    missing, the engine is gone) or any other grader failure is this submission's `error`, the grader's fault.
    A submission the sandbox refuses (SubmissionError) is still the student's `failed`."""
    try:
        return grade(exercise, source, sandbox=sandbox, settings=settings, name=name)
    except SubmissionError as err:
        return rejected(exercise, str(err), name=name, source=source, sandbox=sandbox.name)
    except GraderError as err:
        report = broken(exercise, f"the grader could not run the program: {err}", sandbox=sandbox.name)
    except Exception as err:  # noqa: BLE001 — a grader bug: this cell's error, not the whole class's
        report = broken(exercise, f"the grader failed ({type(err).__name__}: {str(err)[:200]})", sandbox=sandbox.name)
    report.sha256 = hashlib.sha256(source).hexdigest()
    report.submission = name
    return report
