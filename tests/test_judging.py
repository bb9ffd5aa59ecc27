"""judge() on recorded outcomes: who is at fault for an `error`, and checks' points that add up in every status."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

import pytest
from pydantic import ValidationError

from grader.catalog import Exercise, resolve
from grader.checks import Run
from grader.grading import RULES, Facts, broken_trace, classify, infra, judge, memory, pids
from grader.report import CheckResult, Report
from grader.settings import Settings
from grader.trace import parse
from grader.tree import Kill, Tree

from .outcomes import load

SETTINGS = Settings(timeout_s=8, grace_s=0.3)
STRACE_COMPLAINT = b"strace: attach: ptrace(PTRACE_SEIZE, 12): Operation not permitted\n"

# name -> (exercise, recorded outcome, changes, status, fault, reason pattern)
CASES = {
    "passed": ("ex1", "ex1_reference", {}, "passed", None, None),
    "failed": ("ex1", "ex1_print", {}, "failed", None, None),
    "engine lost": (
        "ex1",
        "ex1_reference",
        {"infra_error": "the Docker engine stopped answering during the run: read timed out"},
        "error",
        "grader",
        "Docker engine stopped answering",
    ),
    "no result": (
        "ex1",
        "ex1_reference",
        {"infra_error": "the sandbox ended without a result"},
        "error",
        "grader",
        "without a result",
    ),
    "killed from outside for its time": (
        "ex1",
        "ex1_reference",
        {"infra_error": "the container did not end by itself and was killed", "kill_reason": "timeout"},
        "error",
        None,
        "did not end by itself",
    ),
    "tracer cannot attach": (
        "ex1",
        "ex1_reference",
        {"tracer_stderr": STRACE_COMPLAINT.decode()},
        "error",
        "grader",
        r"the tracer failed \(strace: attach",
    ),
    "dns server failed": (
        "ex4",
        "ex4_reference",
        {"dns_error": "dnsmasq: failed to create listening socket for 127.0.0.1: Address in use"},
        "error",
        "grader",
        r"DNS server \(dnsmasq\) failed to start: dnsmasq: failed to create listening socket",
    ),
    "empty trace": ("ex1", "ex1_reference", {"trace": ""}, "error", "grader", "the trace is empty"),
    "output flood": (
        "ex1",
        "ex1_reference",
        {"kill_reason": "output-limit", "stdout_bytes": 9 << 20},
        "error",
        None,
        "output limit",
    ),
    "memory": ("ex1", "ex1_reference", {"oom_killed": True}, "error", None, "memory limit of 256 MiB exceeded"),
    "untraced": ("ex1", "ex1_reference", {"untraced": [4242]}, "error", None, "untraced: processes 4242"),
    "timeout after every check passed": (
        "ex1",
        "ex1_reference",
        {"kill_reason": "timeout", "kill_time": 1e12},
        "timeout",
        None,
        "time limit of 8s reached",
    ),
    "timeout with a failing check": (
        "ex1",
        "ex1_print",
        {"kill_reason": "timeout", "kill_time": 1e12},
        "timeout",
        None,
        "time limit of 8s reached",
    ),
}


def _judge(exercise: str, name: str, changes: dict[str, object]) -> Report:
    return judge(resolve(exercise), load(name, **changes), SETTINGS)


@pytest.mark.parametrize("case", list(CASES))
def test_status_fault_and_points_that_add_up(case: str) -> None:
    exercise, name, changes, status, fault, reason = CASES[case]
    report = _judge(exercise, name, changes)
    assert (report.status, report.fault) == (status, fault), report.reason
    if reason is not None:
        assert report.reason is not None
        assert re.search(reason, report.reason), report.reason
    # what every format shows: each check's own points, adding up to the total
    assert report.score == round(sum(c.score for c in report.checks), 2)
    assert all(c.score in (0, c.max_score) for c in report.checks)
    assert all(c.score == 0 or c.passed for c in report.checks)
    if status == "error":
        assert report.score == 0 and not any(c.passed for c in report.checks)
        assert all(report.reason in c.message for c in report.checks)  # each check says why it did not count
    if status == "timeout":
        assert report.score < report.max_score
    Report.model_validate_json(report.model_dump_json())  # the stored form validates too


def test_a_timeout_that_passed_every_check_loses_its_cheapest_check() -> None:
    ex = resolve("ex1")
    report = _judge("ex1", "ex1_reference", {"kill_reason": "timeout", "kill_time": 1e12})
    cheapest = min(c.points for c in ex.checks)
    assert report.score == ex.max_score - cheapest
    (lost,) = [c for c in report.checks if not c.passed]
    assert lost.max_score == cheapest and "time limit was reached" in lost.message
    last_cheapest = max(i for i, c in enumerate(ex.checks) if c.points == cheapest)
    assert lost.id == ex.checks[last_cheapest].id


def test_a_report_whose_checks_do_not_add_up_is_refused() -> None:
    checks = [CheckResult(id="a", title="a", passed=True, score=2, max_score=2, message="ok")]
    base = {"grader_version": "0", "exercise": "ex1_fork", "max_score": 2, "checks": checks, "duration_s": 0}
    Report(status="passed", score=2, **base)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="not the sum of the checks"):
        Report(status="error", score=0, **base)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="fault is recorded only on an error"):
        Report(status="passed", score=2, fault="grader", **base)  # type: ignore[arg-type]


def _raising(ex: Exercise, check_id: str) -> Exercise:
    def boom(run: Run) -> object:
        raise KeyError("a grader bug")

    checks = tuple(dataclasses.replace(c, fn=boom) if c.id == check_id else c for c in ex.checks)
    return dataclasses.replace(ex, checks=checks)


def test_a_check_that_raises_is_the_graders_error_naming_it() -> None:
    ex = resolve("ex1")
    broken_id = ex.checks[1].id
    report = judge(_raising(ex, broken_id), load("ex1_reference"), SETTINGS)
    assert report.status == "error" and report.fault == "grader" and report.score == 0
    assert report.reason is not None and f"check {broken_id} failed (KeyError" in report.reason
    assert "grader bug" in report.reason
    assert [c.id for c in report.checks] == [c.id for c in ex.checks]  # every check still listed


def test_a_students_error_stands_over_a_raising_check() -> None:
    ex = resolve("ex1")
    report = judge(_raising(ex, ex.checks[0].id), load("ex1_reference", oom_killed=True), SETTINGS)
    assert report.status == "error" and report.fault is None and "memory limit" in (report.reason or "")


def test_a_parser_that_raises_is_the_graders_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import grader.grading

    def deep(text: str) -> object:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(grader.grading, "parse", deep)
    report = judge(resolve("ex1"), load("ex1_reference"), SETTINGS)
    assert report.status == "error" and report.fault == "grader"
    assert "RecursionError" in (report.reason or "") and report.output  # the program's output is kept


# --- classify's rules, one at a time ---------------------------------------------------------------------------


def _facts(tree: Tree | None = None, dns: bool = False, **changes: object) -> Facts:
    outcome = load("ex1_reference", **changes)
    return Facts(outcome, tree if tree is not None else parse(outcome.trace), SETTINGS, dns)


def _tree(**fields: object) -> Tree:
    base = parse(load("ex1_reference").trace)
    return base.model_copy(update=fields)


# rule -> (facts it fires on, status, fault, reason pattern)
RULE_CASES: dict[str, tuple[Callable[[], Facts], str | None, str | None, str]] = {
    "infra": (lambda: _facts(infra_error="could not create the container: 500"), "error", "grader", "could not create"),
    "dns_server": (lambda: _facts(dns=True, dns_error="bind failed"), "error", "grader", r"dnsmasq\) failed"),
    "untraced": (lambda: _facts(_tree(untraced=[77])), "error", None, "untraced: processes 77 ran outside"),
    "tracer": (
        lambda: _facts(tracer_stderr="strace: exec: Permission denied\n"),
        "error",
        "grader",
        r"the tracer failed \(strace: exec",
    ),
    "output_around_trace": (
        lambda: _facts(stdout_bytes=1 << 20),
        "error",
        None,
        r"^untraced output: stdout holds 1048576 bytes but the trace saw at most \d+ written to it",
    ),
    "output": (
        lambda: _facts(kill_reason="output-limit", stdout_bytes=9 << 20),
        "error",
        None,
        r"output limit: the program printed 9\.0 MiB and was stopped \(output is kept up to 1\.0 MiB and stopped at 8",
    ),
    "lines_past_cap": (
        lambda: _facts(_tree(lines_dropped={7: 5000})),
        "error",
        None,
        r"^output limit: 5000 printed lines were past the number kept for judging \(process 7 alone",
    ),
    "pids": (
        lambda: _facts(_tree(failed_forks=3)),
        "error",
        None,
        r"too many processes: creating a process or thread failed 3 times \(EAGAIN\) at the limit of 64",
    ),
    "memory": (lambda: _facts(oom_killed=True), "error", None, r"^memory limit of 256 MiB exceeded$"),
    "trace_size": (
        lambda: _facts(kill_reason="trace-limit"),
        "error",
        None,
        r"too much activity: the trace passed its limit of 32\.0 MiB",
    ),
    "timeout": (lambda: _facts(kill_reason="timeout"), "timeout", None, r"time limit of 8s reached; alive: "),
    "broken_trace": (
        lambda: _facts(_tree(truncated=True)),
        "error",
        "grader",
        r"the trace is truncated \(the tracer was stopped mid-line\)",
    ),
    "leftover": (
        lambda: _facts(kill_reason="leftover"),
        None,
        None,
        r"processes outlived main: .* killed by the grader",
    ),
}


def test_the_rules_keep_the_documented_order() -> None:
    # infra, untraced, tracer, output, pids, memory, trace size, timeout (the DNS server is the infrastructure's)
    assert [r.__name__ for r in RULES] == list(RULE_CASES)


@pytest.mark.parametrize("name", list(RULE_CASES))
def test_each_rule_fires_on_its_case_and_only_there(name: str) -> None:
    rule = next(r for r in RULES if r.__name__ == name)
    make, status, fault, reason = RULE_CASES[name]
    imposed = rule(make())
    assert imposed is not None and (imposed.status, imposed.fault) == (status, fault)
    assert imposed.reason is not None and re.search(reason, imposed.reason), imposed.reason
    assert rule(_facts()) is None  # a clean run: no rule applies
    assert classify(make().outcome, make().tree, SETTINGS, dns=make().dns) == imposed  # nothing before it fires


def test_memory_from_a_sigkill_nobody_sent_when_the_cgroup_is_unreadable() -> None:
    tree = _tree()
    victim = next(p for p in tree.procs.values() if p.pid != tree.root)
    tree.procs[victim.pid] = victim.model_copy(update={"signal": "SIGKILL", "signal_sender": None})
    found = memory(_facts(tree, oom_kills=None))
    assert found is not None and found.reason == (
        f"memory limit of 256 MiB exceeded: process {victim.pid} was killed by the kernel (SIGKILL, no sender)"
    )
    assert memory(_facts(tree, oom_kills=0)) is None  # the cgroup counted none: someone else's SIGKILL
    sent = tree.model_copy(
        update={"kills": [Kill(t=1.0, sender=tree.root or 0, target=victim.pid, signal="SIGKILL", ok=True)]}
    )
    assert memory(_facts(sent, oom_kills=None)) is None  # main sent it


def test_the_empty_trace_and_the_trace_without_an_end() -> None:
    empty = broken_trace(_facts(_tree(problems=["the trace is empty: the program was never started under the tracer"])))
    assert empty is not None and empty.fault == "grader" and empty.reason is not None
    assert empty.reason.endswith("— the run cannot be judged")
    assert broken_trace(_facts(_tree(problems=["unparsed call in 12: 'x'"]))) is None  # a harmless problem


def test_a_timeout_at_the_process_limit_says_both() -> None:
    found = pids(_facts(_tree(failed_forks=1), kill_reason="timeout"))
    assert found is not None and found.reason is not None and "the time limit of 8s was then reached" in found.reason


def test_infra_killed_for_its_time_is_the_programs() -> None:
    found = infra(_facts(infra_error="the container did not end by itself and was killed", kill_reason="timeout"))
    assert found is not None and found.fault is None


def test_a_check_message_is_bounded() -> None:
    from grader.checks import Check, fail
    from grader.grading import MESSAGE_CHARS, _check

    long = Check(id="x", title="t", points=1, fn=lambda run: fail("saw " + "y" * 100_000))
    result, broke = _check(long, None)  # type: ignore[arg-type]
    assert broke is None and len(result.message) < MESSAGE_CHARS + 60
    assert result.message.endswith(f"({100_004 - MESSAGE_CHARS} more characters)")
