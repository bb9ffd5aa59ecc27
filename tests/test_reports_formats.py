"""Every CI format, for a mix of passed, failed, error and timeout reports with hostile output, read back by a
real parser: junitparser and an XSD validator, JSON schemas for Gradescope and Classroom, tap.py."""

from __future__ import annotations

import base64
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
import xmlschema
from junitparser import Error, Failure, JUnitXml
from tap.parser import Parser

from grader.catalog import resolve
from grader.grading import settle
from grader.report import CheckResult, Report
from grader.reports import classroom, github, gradescope, junit, tap

HERE = Path(__file__).resolve().parent
HOSTILE = "50% done\r\n::error file=x.py::forged\n::set-output name=result::0\n%0A::warning::x, a:b\x00\x1b[31m"


def _report(exercise: str, status: str, passed: list[bool], *, output: str = "", reason: str | None = None) -> Report:
    checks = [
        CheckResult(
            id=f"c{i}",
            title=f"check {i}",
            passed=p,
            score=2 if p else 0,
            max_score=2,
            message=f"saw {i}: {HOSTILE}",
        )
        for i, p in enumerate(passed)
    ]
    checks = settle(resolve(exercise), status, reason, checks)  # as judge() makes them: the points add up
    score = sum(c.score for c in checks)
    return Report(
        grader_version="0",
        exercise=exercise,
        status=status,
        score=score,
        max_score=2 * len(checks),
        checks=checks,
        reason=reason,
        output=output,
        stderr="Traceback ::error::x\n",
        duration_s=0.25,
        submission=f"exercises/{exercise}/solution.py",
    )


@pytest.fixture
def reports() -> list[Report]:
    return [
        _report("ex1_fork", "passed", [True, True], output="Process (12) start...\n"),
        _report("ex2_process", "failed", [True, False, False], output=HOSTILE * 3),
        _report("ex3_pool", "error", [True, False], reason="memory limit of 256 MiB exceeded"),
        _report("ex4_subprocess", "timeout", [True, True, False], reason="time limit of 10s reached"),
    ]


def test_junit_parses_and_validates_against_junit10(tmp_path: Path, reports: list[Report]) -> None:
    path = tmp_path / "j.xml"
    path.write_text(junit.render(reports), encoding="utf-8")
    xmlschema.XMLSchema(HERE / "xsd" / "junit-10.xsd").validate(str(path))
    suites = {s.name: s for s in JUnitXml.fromfile(str(path))}
    assert list(suites) == ["ex1_fork", "ex2_process", "ex3_pool", "ex4_subprocess"]
    assert (suites["ex2_process"].tests, suites["ex2_process"].failures, suites["ex2_process"].errors) == (3, 2, 0)
    assert (suites["ex3_pool"].failures, suites["ex3_pool"].errors) == (0, 2)
    cases = {c.name: c for c in suites["ex2_process"]}
    failure = cases["c1: check 1"].result[0]
    assert isinstance(failure, Failure) and failure.message.startswith("saw 1: 50% done")
    assert isinstance(next(c for c in suites["ex3_pool"] if not c.is_passed).result[0], Error)
    outs = [e.text or "" for e in ET.parse(path).getroot().iter("system-out")]
    assert "\x00" not in path.read_text() and "Process (12) start..." in outs[0] and "::error" in outs[1]


def test_gradescope_results_follow_the_schema_and_add_up(reports: list[Report]) -> None:
    data = json.loads(gradescope.render(reports, notice="n"))
    jsonschema.validate(data, json.loads((HERE / "schemas" / "gradescope-results.json").read_text()))
    assert data["score"] == sum(t["score"] for t in data["tests"]) == sum(r.score for r in reports)
    assert len(data["tests"]) == 10 and all(t["visibility"] == "visible" for t in data["tests"])
    assert "null" not in json.dumps(data)
    timeout = [t for t in data["tests"] if t["name"].startswith("ex4")]
    assert [t["score"] for t in timeout] == [2, 2, 0] and timeout[2]["status"] == "failed"


def test_classroom_result_decodes_to_the_reporter_payload(tmp_path: Path, reports: list[Report]) -> None:
    out = tmp_path / "github_output"
    out.write_text("earlier=1\n")
    assert classroom.write(reports, environ={"GITHUB_OUTPUT": str(out)}) is None
    lines = out.read_text().splitlines()
    assert lines[0] == "earlier=1" and lines[1].startswith("result=") and len(lines) == 2
    data = json.loads(base64.b64decode(lines[1].removeprefix("result=")))
    jsonschema.validate(data, json.loads((HERE / "schemas" / "classroom-result.json").read_text()))
    assert data["status"] == "error" and data["max_score"] == 20
    assert sum(t["score"] for t in data["tests"]) == sum(r.score for r in reports)
    assert classroom.write(reports, environ={}).startswith("result=")  # printed when not in Actions


def test_tap14_parses(reports: list[Report]) -> None:
    text = tap.render(reports)
    top = list(Parser().parse_text(text))
    assert top[0].category == "version" and top[0].version == 14
    results = [ln for ln in top if ln.category == "test"]
    assert [r.ok for r in results] == [True, False, False, False] and len(results) == 4
    # each subtest block, dedented, is a TAP document of its own
    blocks = re.findall(r"^# Subtest: (\S+)\n((?:    .*\n)+)", text, re.M)
    assert [b[0] for b in blocks] == [r.exercise for r in reports]
    inner = [ln for ln in Parser().parse_text(re.sub(r"^    ", "", blocks[1][1], flags=re.M)) if ln.category == "test"]
    assert [r.ok for r in inner] == [True, False, False]


def test_per_check_points_add_up_in_gradescope_and_classroom() -> None:
    r = _report("ex4_subprocess", "timeout", [True, True, True])  # every check passed: the cheapest is not counted
    shown = [t["score"] for t in json.loads(gradescope.render([r]))["tests"]]
    sent = [t["score"] for t in classroom.payload([r])["tests"]]
    assert shown == sent == [c.score for c in r.checks] == [2, 2, 0] and sum(shown) == r.score == 4


def _commands(lines: list[str]) -> list[str]:
    """The workflow commands a runner would act on, honouring ::stop-commands::."""
    found, stopped = [], None
    for line in "\n".join(lines).splitlines():  # a runner splits on \n and on \r\n
        line = line.rstrip("\r")
        if stopped:
            if line == f"::{stopped}::":
                stopped = None
            continue
        if m := re.match(r"^::([a-z-]+)", line):
            found.append(m.group(1))
            if m.group(1) == "stop-commands":
                stopped = line.split("::")[2]
    return found


def test_annotations_cannot_be_injected(reports: list[Report]) -> None:
    lines = github.log(reports)
    assert all("\n" not in ln and "\r" not in ln for ln in github.error_annotations(reports))
    failing = sum(not c.passed for r in reports for c in r.checks)
    assert _commands(lines).count("error") == failing
    assert set(_commands(lines)) == {"error", "group", "stop-commands", "endgroup"}
    first = github.error_annotations(reports)[0]
    assert first.startswith("::error file=exercises/ex2_process/solution.py,title=ex2_process%3A check 1::")
    assert "50%25 done%0D%0A::error file=x.py::forged%0A" in first


def test_escaping_rules() -> None:
    assert github.escape_data("a%b\r\nc") == "a%25b%0D%0Ac"
    assert github.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    fenced = github.fenced("out", "::error::x\n::endgroup::")
    token = fenced[1].removeprefix("::stop-commands::")
    assert len(token) == 32 and fenced[-2] == f"::{token}::" and token not in "::error::x"


def test_step_summary_has_a_table_per_exercise(tmp_path: Path, reports: list[Report]) -> None:
    summary = tmp_path / "summary.md"
    github.write(reports, environ={"GITHUB_STEP_SUMMARY": str(summary)})
    text = summary.read_text()
    assert text.count("| check | points | result |") == 4
    rows = [ln for ln in text.splitlines() if ln.startswith("| check ")]
    assert rows and all(ln.count("|") == 4 for ln in text.splitlines() if ln.startswith("| check"))
    assert "\x1b" not in text or "<br>" in text
