"""`grade ci` end to end in a course checkout: formats written, exit codes by score, a missing file as a result."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import xmlschema
import xunitparser  # type: ignore[import-untyped]
import yaml  # type: ignore[import-untyped]
from junitparser import JUnitXml

from grader.catalog import resolve
from grader.ci import exit_code
from grader.ci_templates import write
from grader.grading import rejected
from grader.report import CheckResult, Report
from grader.reports import junit

from .conftest import ROOT, SUBMISSIONS

HERE = Path(__file__).resolve().parent
pytestmark = pytest.mark.docker


def _grade(course: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {**os.environ, "GRADE_TIMEOUT_S": "8", "GRADE_GRACE_S": "0.3", **(env or {})}
    base.pop("GITHUB_ACTIONS", None)
    cmd = [sys.executable, "-c", "from grader.cli import main; main()", "ci", *args]
    return subprocess.run(cmd, cwd=course, env=base, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("course")
    for ex, src in (
        ("ex1_fork", ROOT / "solutions/ex1_fork.py"),
        ("ex2_process", next((SUBMISSIONS / "ex2_process").glob("fail__*.py"))),
    ):
        (root / "exercises" / ex).mkdir(parents=True)
        shutil.copy(src, root / "exercises" / ex / "solution.py")
    return root


def test_every_format_from_one_run(course: Path, tmp_path: Path) -> None:
    out, summary = tmp_path / "out", tmp_path / "summary.md"
    res = _grade(
        course,
        "-e",
        "ex1",
        "-e",
        "ex2",
        "-e",
        "ex3",
        "--junit",
        "j.xml",
        "--gradescope",
        str(tmp_path / "r.json"),
        "--classroom",
        "--tap",
        "--github",
        "--sandbox",
        "docker",
        env={"GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert res.returncode == 1, res.stderr
    xmlschema.XMLSchema(HERE / "xsd" / "junit-10.xsd").validate(str(course / "j.xml"))
    suites = {s.name: s for s in JUnitXml.fromfile(str(course / "j.xml"))}
    assert suites["ex1_fork"].failures == 0 and suites["ex2_process"].failures >= 1
    assert suites["ex3_pool"].failures == suites["ex3_pool"].tests  # no file: every check fails, no crash
    data = json.loads((tmp_path / "r.json").read_text())
    jsonschema.validate(data, json.loads((HERE / "schemas" / "gradescope-results.json").read_text()))
    assert data["score"] == resolve("ex1").max_score + sum(
        t["score"] for t in data["tests"] if t["name"].startswith("ex2")
    )
    result = out.read_text().split("result=", 1)[1].strip()
    classroom = json.loads(base64.b64decode(result))
    jsonschema.validate(classroom, json.loads((HERE / "schemas" / "classroom-result.json").read_text()))
    assert res.stdout.startswith("TAP version 14\n1..3\n")
    assert "::error file=exercises/ex2_process/solution.py," in res.stdout
    assert "::error file=exercises/ex3_pool/solution.py," in res.stdout
    assert summary.read_text().count("| check | points | result |") == 3


def test_exit_codes(course: Path) -> None:
    full = _grade(course, "-e", "ex1", "--sandbox", "docker")
    assert full.returncode == 0, full.stderr
    assert "ex1_fork" in full.stderr and "passed" in full.stderr
    low = _grade(course, "-e", "ex1", "-e", "ex2", "--min-score", "10", "--sandbox", "docker")
    assert low.returncode == 0, low.stderr  # ex1's 10 points reach the bar
    high = _grade(course, "-e", "ex1", "-e", "ex2", "--min-score", "19", "--sandbox", "docker")
    assert high.returncode == 1
    bad = _grade(course, "-e", "ex99")
    assert bad.returncode == 2 and "unknown exercise" in bad.stderr and "Traceback" not in bad.stderr
    outside = subprocess.run(
        [sys.executable, "-c", "from grader.cli import main; main()", "ci"], cwd="/", capture_output=True, text=True
    )
    assert outside.returncode == 2 and "course checkout" in outside.stderr


def test_missing_file_is_a_failing_result() -> None:
    report = rejected(resolve("ex1"), "no file", name="exercises/ex1_fork/solution.py")
    assert report.status == "failed" and report.score == 0 and exit_code([report]) == 1
    assert exit_code([report], 0) == 0


def test_init_ci_writes_each_target(tmp_path: Path) -> None:
    spec = "git+https://example.org/course/grader.git@v1"
    (gh,) = write("github", tmp_path, install=spec)
    flow = yaml.safe_load(gh.read_text())
    steps = flow["jobs"]["run-autograding-tests"]["steps"]
    grade_step = next(s for s in steps if s.get("id") == "grade")
    assert "-m grader ci --junit" in grade_step["run"] and "--classroom" in grade_step["run"]
    reporter = next(s for s in steps if "autograding-grading-reporter" in s.get("uses", ""))
    assert reporter["with"]["runners"] == "grade" and "steps.grade.outputs.result" in reporter["env"]["GRADE_RESULTS"]
    (gl,) = write("gitlab", tmp_path, install=spec)
    job = yaml.safe_load(gl.read_text())["grade"]
    assert job["artifacts"]["reports"]["junit"] == "grade-junit.xml"
    assert '--junit "$CI_PROJECT_DIR/grade-junit.xml"' in job["script"][-1]
    assert any(spec in line for line in job["before_script"])


def test_init_ci_installs_the_course_wheels_by_path(tmp_path: Path) -> None:
    """No --install: the grader's wheel and its dependencies' wheels go into the repository, and the job
    installs them by path with no index — nothing is looked up by name."""
    flow_path, folder = write("github", tmp_path)
    own = sorted(folder.glob("grade_autograder-*-py3-none-any.whl"))
    assert len(own) == 1 and any(folder.glob("pydantic_core-*-cp311-*.whl"))
    steps = yaml.safe_load(flow_path.read_text())["jobs"]["run-autograding-tests"]["steps"]
    install = next(s["run"] for s in steps if "pip install" in s.get("run", ""))
    assert (
        f'--no-index --find-links "$GITHUB_WORKSPACE/.grade/wheels" "$GITHUB_WORKSPACE/.grade/wheels/{own[0].name}"'
        in install
    )
    # the job's install line, run here into a fresh target folder: offline, from the repository alone
    target = tmp_path / "site"
    cmd = install.strip().replace("$GITHUB_WORKSPACE", str(tmp_path)).replace("--quiet", f"--quiet --target {target}")
    cmd = cmd.replace("python ", f"{sys.executable} ", 1)
    res = subprocess.run(
        cmd,
        shell=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PIP_CONFIG_FILE": "/dev/null", "PIP_FIND_LINKS": ""},
    )
    assert res.returncode == 0, res.stderr
    assert (target / "grader" / "cli.py").is_file() and (target / "typer").is_dir()


@pytest.mark.parametrize(
    ("spec", "problem"),
    [("grade", "another project"), ("grade==0.1.0", "another project"), ("a\nb", "one line")],
)
def test_init_ci_refuses_an_install_line_that_cannot_be_ours(tmp_path: Path, spec: str, problem: str) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "grader", "init-ci", "github", "--out", str(tmp_path), "--install", spec],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 2 and problem in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert not (tmp_path / ".github").exists()


def test_junit_read_by_xunitparser() -> None:
    """xunitparser merges every suite's properties into one map and asserts each name is new; a failure reads
    `type: message`, so the message must not start with the status again."""
    check = CheckResult(id="c", title="t", passed=False, score=0, max_score=1, message="main still running")
    reports = [
        Report(grader_version="0", exercise=ex, status=st, score=0, max_score=1, checks=[check], duration_s=0.1,
               reason="time limit of 8s reached" if st == "timeout" else None, submission=f"exercises/{ex}/solution.py")
        for ex, st in (("ex1_fork", "failed"), ("ex2_process", "timeout"))
    ]  # fmt: skip
    suite, result = xunitparser.parse(io.StringIO(junit.render(reports)))
    assert suite.properties == {
        "ex1_fork.submission": "exercises/ex1_fork/solution.py",
        "ex1_fork.score": "0/1",
        "ex2_process.submission": "exercises/ex2_process/solution.py",
        "ex2_process.score": "0/1",
    }
    (error,) = [case for case in suite if case.errored]
    assert error.alltext.startswith("timeout: time limit of 8s reached — main still running"), error.alltext
    assert len(result.failures) == 1 and len(result.errors) == 1


@pytest.mark.parametrize(("target", "schema"), [("github", "github-workflows"), ("gitlab", "gitlab-ci")])
def test_init_ci_files_follow_the_platforms_schema(tmp_path: Path, target: str, schema: str) -> None:
    """Each written file validates against the schema its platform publishes (vendored by check-jsonschema:
    GitLab's own CI schema, SchemaStore's GitHub workflow schema); a broken copy is refused, so the check bites."""
    (path,) = write(target, tmp_path, install="git+https://example.org/course/grader.git@v1")
    cmd = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", f"vendor.{schema}"]
    good = subprocess.run([*cmd, str(path)], capture_output=True, text=True)
    assert good.returncode == 0, good.stdout + good.stderr
    broken = tmp_path / f"broken-{path.name}"
    typo = ("runs-on:", "run-on:") if target == "github" else ("  script:", "  scripts:")
    broken.write_text(path.read_text().replace(*typo))
    bad = subprocess.run([*cmd, str(broken)], capture_output=True, text=True)
    assert bad.returncode == 1, bad.stdout + bad.stderr
