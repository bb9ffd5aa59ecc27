"""GitHub Classroom: the workflow `grade init-ci github` writes is the one Classroom generates, and the `result`
payload of `grade ci --classroom` is read back by a decoder that does what autograding-grading-reporter does
(src/main.js, notify-classroom.js, helpers/test-helpers.js): the variable `<RUNNER>_RESULTS`, base64 of UTF-8
JSON, points = the sum of every test's `score` over the sum of `max_score`, the step failed on fail or error."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest
import yaml  # type: ignore[import-untyped]

from grader.ci_templates import write
from grader.report import CheckResult, Report
from grader.reports import classroom

from .conftest import ROOT, GradeFile

HERE = Path(__file__).resolve().parent
ARG_MAX_STRLEN = 128 << 10  # Linux: one "NAME=value" string given to a new program, its NUL included
FLOOD = ROOT / "tests" / "attacks" / "programs" / "ci" / "classroom_flood_wrong_lines.py"


@dataclass(frozen=True)
class Reported:
    total: float
    maximum: float
    failed_step: bool
    env_bytes: int


def reporter(runners: str, env: dict[str, str]) -> tuple[Reported, list[dict]]:  # type: ignore[type-arg]
    """What the reporter does with our output, step by step as its source does it."""
    total = maximum = 0.0
    failed = False
    decoded = []
    size = 0
    for runner in runners.split(","):
        name = f"{runner.strip().upper()}_RESULTS"
        encoded = env[name]
        size = max(size, len(f"{name}={encoded}".encode()) + 1)
        results = json.loads(base64.b64decode(encoded, validate=True).decode("utf-8"))
        decoded.append(results)
        if results["max_score"]:
            maximum += results["max_score"]
            total += sum(t["score"] for t in results["tests"])
        failed = failed or results["status"] in ("fail", "error")
    return Reported(total, maximum, failed, size), decoded


def _report(exercise: str, status: str, message: str, *, passed: bool = False, n: int = 8) -> Report:
    checks = [
        CheckResult(
            id=f"c{i}", title=f"check {i}", passed=passed, score=1 if passed else 0, max_score=1, message=message
        )
        for i in range(n)
    ]
    return Report(
        grader_version="0",
        exercise=exercise,
        status=status,
        score=n if passed else 0,
        max_score=n,
        checks=checks,
        reason="time limit of 10s reached" if status == "timeout" else None,
        duration_s=0.1,
        submission=f"exercises/{exercise}/solution.py",
    )


def test_workflow_is_the_one_classroom_generates(tmp_path: Path) -> None:
    flow_path = write("github", tmp_path, install="git+https://example.org/course/grader.git@v1")[0]
    assert flow_path.relative_to(tmp_path).as_posix() == ".github/workflows/classroom.yml"
    flow = yaml.safe_load(flow_path.read_text())
    assert flow["name"] == "Autograding Tests"
    assert flow["on"] == ["push", "repository_dispatch"]
    assert flow["permissions"] == {"checks": "write", "actions": "read", "contents": "read"}
    (job_id,) = flow["jobs"]
    job = flow["jobs"][job_id]
    assert job_id == "run-autograding-tests" and job["if"] == "github.actor != 'github-classroom[bot]'"
    steps = job["steps"]
    assert steps[0] == {"name": "Checkout code", "uses": "actions/checkout@v4"}
    reporter_step = next(s for s in steps if s.get("name") == "Autograding Reporter")
    assert reporter_step["uses"] == "classroom-resources/autograding-grading-reporter@v1"
    (runner,) = reporter_step["with"]["runners"].split(",")
    grading = next(s for s in steps if s.get("id") == runner)
    assert reporter_step["env"] == {f"{runner.upper()}_RESULTS": f"${{{{steps.{runner}.outputs.result}}}}"}
    assert "python -I -m grader ci" in grading["run"] and "--classroom" in grading["run"]
    # the grading step fails only when the grader did (2 and above), so the reporter runs for a low grade
    assert '[ "$rc" -le 1 ] || exit "$rc"' in grading["run"]
    assert "git+https://example.org/course/grader.git@v1" in next(s["run"] for s in steps if "pip" in s.get("run", ""))


def test_reporter_totals_our_points(tmp_path: Path) -> None:
    reports = [
        _report("ex1_fork", "passed", "ok", passed=True),
        _report("ex2_process", "failed", "no child"),
        _report("ex3_pool", "timeout", "stopped"),
    ]
    out = tmp_path / "out"
    classroom.write(reports, environ={"GITHUB_OUTPUT": str(out)})
    value = out.read_text().strip().removeprefix("result=")
    seen, (data,) = reporter("grade", {"GRADE_RESULTS": value})
    jsonschema.validate(data, json.loads((HERE / "schemas" / "classroom-result.json").read_text()))
    assert (seen.total, seen.maximum, seen.failed_step) == (8, 24, True)
    assert all(t["status"] == "pass" for t in data["tests"][:8])


def test_huge_messages_are_cut_before_points(tmp_path: Path) -> None:
    """Messages of 300 KB each (a check quoting the program's output): every message is capped, then cut
    shorter until the payload fits; names, statuses and points stay whole."""
    flood = "I am child process (99999) and my parent is 1. ##[stop-commands]\n::error::x\x1b[2J" * 4000
    reports = [_report(f"ex{i}_x", "failed", flood, n=10) for i in range(1, 6)]
    reports.append(_report("ex6_ok", "passed", flood, passed=True, n=10))
    encoded = classroom.encode(reports)
    seen, (data,) = reporter("grade", {"GRADE_RESULTS": encoded})
    assert len(encoded) <= classroom.PAYLOAD_CAP and seen.env_bytes < ARG_MAX_STRLEN // 2 + 64
    assert (seen.total, seen.maximum) == (10, 60) and len(data["tests"]) == 60
    messages = [t["message"] for t in data["tests"]]
    assert all(len(m) <= classroom.MESSAGE_CAP for m in messages)
    assert not any("\n" in m or "\x1b" in m or "##[" in m for m in messages)


@pytest.mark.docker
def test_program_printing_10mb_of_wrong_lines(grade_file: GradeFile) -> None:
    """A real run: the program prints 10 MB of long wrong lines. The payload stays under the cap, the reporter
    decodes it, and its points are the report's."""
    report = grade_file("ex1", FLOOD)
    assert report.score < report.max_score
    encoded = classroom.encode([report] * 5)
    seen, (data,) = reporter("grade", {"GRADE_RESULTS": encoded})
    assert len(encoded) <= classroom.PAYLOAD_CAP and seen.env_bytes < ARG_MAX_STRLEN
    assert seen.total == 5 * report.score and seen.maximum == 5 * report.max_score and seen.failed_step
    assert len(data["tests"]) == 5 * len(report.checks)
