"""Packs against the real sandbox: a scaffolded exercise verifies, a broken reference is named, a pack's exercise
is graded by `grade submit --pack`, and `grade ci` never takes its checks from the checkout it grades."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .conftest import ROOT
from .test_packs import grade, one_line

pytestmark = pytest.mark.docker

FAST = {"GRADE_TIMEOUT_S": "8", "GRADE_GRACE_S": "0.3"}


def test_a_new_exercise_verifies_as_generated_and_a_broken_reference_is_named(tmp_path: Path) -> None:
    pack = tmp_path / "p"
    res = grade("new", "ex42_demo", "--pack", str(pack))
    assert res.returncode == 0, res.stderr
    assert (pack / "solutions" / "ex42_demo.py").is_file() and (pack / "exercises" / "pack.toml").is_file()
    res = grade("verify", "--pack", str(pack), env=FAST)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "ex42_demo" in res.stdout and "reference 3/3  stub 1/1  fail 1/1  pass 1/1  ok" in res.stdout

    res = grade("list", "--pack", str(pack))
    assert "[pack p: ex42_demo]" in res.stdout
    example = pack / "exercises" / "ex42_demo" / "pass__os_wait.py"
    res = grade("submit", "ex42_demo", "--pack", str(pack), "--file", str(example), env=FAST)
    assert res.returncode == 0 and "Score: 6/6" in res.stdout, res.stdout + res.stderr

    reference = pack / "solutions" / "ex42_demo.py"
    reference.write_text(reference.read_text().replace("os.getppid()", "os.getppid() + 1"))
    res = grade("verify", "--pack", str(pack), env=FAST)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "failed child_line" in res.stdout and "3 problem(s)" in res.stdout, res.stdout


def test_record_then_replay_needs_no_engine(tmp_path: Path) -> None:
    pack = tmp_path / "p"
    assert grade("new", "ex7_demo", "--pack", str(pack)).returncode == 0
    res = grade("verify", "--pack", str(pack), "--record", env=FAST)
    assert res.returncode == 0, res.stdout + res.stderr
    assert len(list((pack / "exercises" / "ex7_demo").glob("*.outcome.json"))) == 3  # stub, pass, fail
    assert len(list((pack / "solutions").glob("ex7_demo.*.outcome.json"))) == 3  # one per start method
    res = grade("verify", "--pack", str(pack), "--replay", env={"DOCKER_HOST": f"unix://{tmp_path}/no.sock"})
    assert res.returncode == 0, res.stdout + res.stderr
    # a check edited to fail everything is caught by the replay alone
    checks = pack / "exercises" / "ex7_demo" / "checks.py"
    checks.write_text(checks.read_text() + "\n\ndef child_line(run):\n    return fail('edited')\n")
    res = grade("verify", "--pack", str(pack), "--replay", env={"DOCKER_HOST": f"unix://{tmp_path}/no.sock"})
    assert res.returncode == 1 and "failed child_line: edited" in res.stdout, res.stdout


def _checkout(tmp_path: Path) -> Path:
    """A student's checkout holding a wrong ex1 and a copy of the seed pack whose ex1 checks pass everything."""
    course = tmp_path / "course"
    shutil.copytree(ROOT / "exercises", course / "exercises", ignore=shutil.ignore_patterns("*.json", "__pycache__"))
    checks = course / "exercises" / "ex1_fork" / "checks.py"
    names = ("by_fork", "start_line", "parent_line", "child_line", "child_exit")
    forged = "".join(f"\n\ndef {n}(run):\n    return ok('forged')\n" for n in names)
    checks.write_text(checks.read_text() + forged)
    (course / "exercises" / "ex1_fork" / "solution.py").write_text("print('I did not fork')\n")
    return course


def test_ci_never_takes_checks_from_the_checkout_it_grades(tmp_path: Path) -> None:
    course = _checkout(tmp_path)
    env = {**FAST, "GRADE_PACKS": str(ROOT)}
    res = grade("ci", "-e", "ex1", "--no-github", cwd=course, env=env)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "ex1_fork         failed   0/10" in res.stderr, res.stderr
    # naming the checkout's copy, by --pack or GRADE_PACKS, is refused rather than trusted
    for extra in (["--pack", str(course)], []):
        env = {**FAST, "GRADE_PACKS": str(course) if not extra else str(ROOT)}
        res = grade("ci", "-e", "ex1", "--no-github", *extra, cwd=course, env=env)
        one_line(res, "is inside the checkout being graded", "installed packs or a --pack outside it")


def test_grade_submit_in_the_checkout_uses_the_installed_checks_too(tmp_path: Path) -> None:
    course = _checkout(tmp_path)
    env = {**FAST, "GRADE_PACKS": str(ROOT)}
    res = grade("submit", "ex1", cwd=course, env=env)
    assert res.returncode == 1 and "Score: 0/10" in res.stdout, res.stdout + res.stderr
