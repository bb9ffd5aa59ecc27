"""Exercise packs: finding and loading them, one clear line for each mistake in a pack, the seed pack's
recorded examples re-judged without an engine, and the engine holding no exercise of its own."""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader import packs
from grader.catalog import registry, resolve
from grader.settings import Settings
from grader.verify import cases, problem, run_case

from .conftest import ROOT
from .outcomes import load

SEED = [ex for ex in registry().values() if ex.pack == "seed"]
REPLAYED = [(ex, case) for ex in SEED for case in cases(ex, ROOT / "solutions")[0]]


def grade(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "grader", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def one_line(res: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def a_pack(tmp_path: Path, *exercises: str, name: str = "mine") -> Path:
    """A pack folder holding copies of seed exercises (statement, stub, checks, examples) under `name`."""
    (tmp_path / "exercises").mkdir(parents=True)
    (tmp_path / "exercises" / "pack.toml").write_text(f'name = "{name}"\n')
    for ex in exercises:
        shutil.copytree(ROOT / "exercises" / ex, tmp_path / "exercises" / ex, ignore=shutil.ignore_patterns("*.json"))
    return tmp_path


# -- the fast tier: every recorded example of the seed pack, re-judged through judge() with no container --------


@pytest.mark.parametrize(("exercise", "case"), REPLAYED, ids=[f"{e.id}/{c.label}" for e, c in REPLAYED])
def test_recorded_seed_example_keeps_its_verdict(exercise, case) -> None:  # type: ignore[no-untyped-def]
    report = run_case(exercise, case, mode="replay", sandbox=None, settings=Settings())
    assert problem(case, report) is None, problem(case, report)


def test_every_seed_exercise_is_replayed() -> None:
    assert {"ex1_fork", "ex2_process", "ex3_pool", "ex4_subprocess", "ex5_queue"} <= {ex.id for ex in SEED}
    for ex in SEED:
        kinds = [c.kind for e, c in REPLAYED if e is ex]
        assert kinds.count("reference") == 3 and "stub" in kinds and "fail" in kinds and "pass" in kinds, ex.id


def test_grade_verify_replays_the_seed_pack_one_line_per_exercise() -> None:
    res = grade("verify", "--replay", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert res.returncode == 0, res.stdout + res.stderr
    rows = [ln for ln in res.stdout.splitlines()[1:] if not ln.startswith(" ")]
    assert [r.split()[0] for r in rows] == [ex.id for ex in registry().values()]
    assert all(r.endswith(" ok") for r in rows), rows


def test_a_replayed_wrong_verdict_is_a_problem() -> None:
    """What the fast tier would say when a check changed: a pass__ example replayed against the wrong check."""
    ex = resolve("ex1")
    case = next(c for e, c in REPLAYED if e is ex and c.kind == "fail")
    report = run_case(ex, case, mode="replay", sandbox=None, settings=Settings())
    as_pass = type(case)("pass", case.path)
    assert problem(as_pass, report) is not None and "must get full marks" in (problem(as_pass, report) or "")


# -- the engine names no exercise ------------------------------------------------------------------------------


def test_no_file_under_grader_names_a_seed_exercise() -> None:
    ids = re.compile("|".join(ex.id for ex in SEED))
    named = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "grader").rglob("*")
        if p.is_file() and p.suffix != ".pyc" and ids.search(p.read_text(errors="replace"))
    ]
    assert named == []
    assert not (ROOT / "grader" / "exercises").exists()


# -- finding packs, and a pack's mistakes as one line ----------------------------------------------------------


def test_list_names_the_pack_of_each_exercise(tmp_path: Path) -> None:
    mine = a_pack(tmp_path, "ex1_fork")
    (mine / "exercises" / "ex1_fork").rename(mine / "exercises" / "ex61_copy")
    toml = mine / "exercises" / "ex61_copy" / "exercise.toml"
    toml.write_text(toml.read_text().replace("number = 1", "number = 61").replace('name = "fork"', 'name = "copy"'))
    res = grade("list", "--pack", str(mine))
    assert res.returncode == 0, res.stderr
    assert "[pack seed: ex1_fork]" in res.stdout and "[pack mine: ex61_copy]" in res.stdout
    res = grade("list", env={"GRADE_PACKS": os.pathsep.join([str(ROOT), str(mine)])})
    assert "[pack mine: ex61_copy]" in res.stdout


def test_two_exercises_with_one_id_are_refused_naming_both(tmp_path: Path) -> None:
    mine = a_pack(tmp_path, "ex2_process")
    line = one_line(grade("list", "--pack", str(mine)), "two exercises with the id ex2_process")
    assert str(ROOT / "exercises" / "ex2_process") in line and str(mine / "exercises" / "ex2_process") in line


def test_one_folder_found_twice_is_one_pack() -> None:
    res = grade("list", "--pack", str(ROOT), env={"GRADE_PACKS": f"{ROOT}{os.pathsep}{ROOT}/exercises"})
    assert res.returncode == 0 and res.stdout.count("ex1_fork") == 1, res.stderr


def test_checks_that_fail_to_import_name_the_file_and_line(tmp_path: Path) -> None:
    mine = a_pack(tmp_path, "ex1_fork", name="broken")
    checks = mine / "exercises" / "ex1_fork" / "checks.py"
    checks.write_text('"""x"""\nimport os\nVALUE = 1 / 0\n')
    one_line(grade("list", "--pack", str(mine), env={"GRADE_PACKS": ""}), f"{checks} line 3", "ZeroDivisionError")
    checks.write_text("def broken(:\n")
    one_line(grade("list", "--pack", str(mine), env={"GRADE_PACKS": ""}), f"{checks} line 1", "SyntaxError")


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (("points = 2", 'points = "two"'), "checks.0.points"),
        (('use = "process_count"', 'use = "no_such_check"'), "uses 'no_such_check', which neither"),
        (("with = { expected = 1 }", "with = { expected = 1, colour = 2 }"), "unexpected keyword argument 'colour'"),
        (('title = "Fork a child process"', "title = 3"), "title: Input should be a valid string"),
        (("number = 1", "number = 1\nsecret = true"), "secret: Extra inputs are not permitted"),
    ],
    ids=["points not a number", "unknown check", "wrong argument", "title not text", "unknown key"],
)
def test_a_wrong_type_in_a_pack_is_one_line(tmp_path: Path, change: tuple[str, str], needle: str) -> None:
    mine = a_pack(tmp_path, "ex1_fork", name="typo")
    toml = mine / "exercises" / "ex1_fork" / "exercise.toml"
    assert change[0] in toml.read_text()
    toml.write_text(toml.read_text().replace(change[0], change[1], 1))
    one_line(grade("list", "--pack", str(mine), env={"GRADE_PACKS": ""}), str(toml), needle)


def test_checks_declared_in_python_must_be_checks(tmp_path: Path) -> None:
    mine = a_pack(tmp_path, "ex1_fork", name="py")
    folder = mine / "exercises" / "ex1_fork"
    toml = folder / "exercise.toml"
    toml.write_text(toml.read_text().split("[[checks]]")[0])
    (folder / "checks.py").write_text((folder / "checks.py").read_text() + '\nCHECKS = ("one_child",)\n')
    one_line(grade("list", "--pack", str(mine), env={"GRADE_PACKS": ""}), "CHECKS must be a tuple of grader.api.Check")


def test_checks_may_be_listed_in_python_as_an_old_layout_module_ports(tmp_path: Path) -> None:
    """The porting recipe: the old module's Check tuple becomes CHECKS, exercise.toml keeps the metadata."""
    mine = a_pack(tmp_path, "ex1_fork", name="ported")
    folder = mine / "exercises" / "ex1_fork"
    toml = folder / "exercise.toml"
    toml.write_text(toml.read_text().split("[[checks]]")[0])
    ported = (
        "\nfrom grader.api import Check, process_count\n\nCHECKS = (\n"
        '    Check("one_child", "main forks exactly one child", 2, process_count(1)),\n'
        '    Check("forked", "the child is a fork of main", 1, by_fork),\n)\n'
    )
    (folder / "checks.py").write_text((folder / "checks.py").read_text() + ported)
    ex = _load(mine)
    assert [(c.id, c.points) for c in ex.checks] == [("one_child", 2), ("forked", 1)]
    assert ex.number == 1 and ex.title == "Fork a child process"


def test_a_folder_that_is_no_pack_says_how_to_make_one(tmp_path: Path) -> None:
    one_line(grade("list", "--pack", str(tmp_path)), "no exercise pack at", "grade new ID --pack")


def test_a_check_that_raises_is_an_error_naming_it(tmp_path: Path) -> None:
    mine = a_pack(tmp_path, "ex1_fork", name="raising")
    folder = mine / "exercises" / "ex1_fork"
    (folder / "checks.py").write_text((folder / "checks.py").read_text() + "\n\ndef by_fork(run):\n    return {}[1]\n")
    ex = _load(mine)
    from grader.grading import judge

    report = judge(ex, load("ex1_reference"), Settings(timeout_s=8, grace_s=0.3))
    assert report.status == "error" and report.fault == "grader"
    assert report.reason and "check forked failed (KeyError: 1)" in report.reason, report.reason


def _load(pack: Path):  # type: ignore[no-untyped-def]
    """The pack's ex1_fork, loaded alone (the seed pack has the same id)."""
    from grader.pack_spec import load_exercise

    return load_exercise(packs.pack_at(pack, "--pack"), pack / "exercises" / "ex1_fork")


def test_a_changed_check_changes_that_exercises_judge_version_only(tmp_path: Path) -> None:
    from grader.pack_spec import load_exercise

    mine = a_pack(tmp_path, "ex1_fork", "ex2_process", name="versions")
    pack = packs.pack_at(mine, "--pack")

    def versions() -> tuple[str, str]:
        return tuple(load_exercise(pack, mine / "exercises" / e).judge_version for e in ("ex1_fork", "ex2_process"))  # type: ignore[return-value]

    before = versions()
    readme = mine / "exercises" / "ex1_fork" / "README.md"
    readme.write_text(readme.read_text() + "\nA reworded statement.\n")
    assert versions() == before  # the statement decides no verdict
    checks = mine / "exercises" / "ex1_fork" / "checks.py"
    checks.write_text(checks.read_text() + "\n# a fixed check\n")
    after = versions()
    assert after[0] != before[0] and after[1] == before[1]


class CountingSandbox:
    """Our sandbox interface, answering every run with one recorded outcome and counting the runs per exercise."""

    name = "fake"

    def __init__(self) -> None:
        self.runs: list[bytes] = []

    def run(self, request):  # type: ignore[no-untyped-def]
        self.runs.append(request.source)
        return load("ex1_print")


def test_a_changed_check_regrades_that_exercise_only_in_a_batch(tmp_path: Path) -> None:
    import dataclasses

    from grader.batch import discover, run_batch
    from grader.store import Store

    for student in ("ann", "bob"):
        for n in (1, 2):
            (tmp_path / "class" / student).mkdir(parents=True, exist_ok=True)
            (tmp_path / "class" / student / f"ex{n}.py").write_text(f"print({n})\n")
    ex1, ex2 = resolve("ex1"), resolve("ex2")
    store = Store(tmp_path / "g.sqlite")
    first = CountingSandbox()
    run_batch(discover(tmp_path / "class", [ex1, ex2]), store=store, sandbox=first, settings=Settings(), jobs=2)
    assert len(first.runs) == 4
    fixed = dataclasses.replace(ex1, digest="0123456789")  # what an edited ex1 checks.py gives
    again = CountingSandbox()
    summary = run_batch(
        discover(tmp_path / "class", [fixed, ex2]), store=store, sandbox=again, settings=Settings(), jobs=2
    )
    assert sorted(again.runs) == [b"print(1)\n", b"print(1)\n"] and summary.skipped == 2
    versions = {(r.exercise, r.grader_version) for r in store.rows()}
    assert versions == {("ex1_fork", fixed.judge_version), ("ex2_process", ex2.judge_version)}
    store.close()


# -- what ships: statements, stubs and checks, never a reference ----------------------------------------------


def test_release_writes_statements_and_stubs_only(tmp_path: Path) -> None:
    res = grade("release", "--out", str(tmp_path / "out"))
    assert res.returncode == 0, res.stderr
    files = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert files == sorted(f"exercises/{ex.id}/{n}" for ex in SEED for n in ("README.md", "solution.py"))
    one_line(grade("release", "--out", str(tmp_path / "out")), "is not empty")


@pytest.mark.slow
def test_the_wheel_ships_the_seed_pack_without_references(tmp_path: Path) -> None:
    from grader.ci_templates import grader_wheel

    wheel = grader_wheel(tmp_path, None)  # pip leaves an egg-info in the checkout: the loader skips it
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        contents = {z.read(n) for n in names}
    for ex in SEED:
        for part in ("exercise.toml", "checks.py", "README.md", "solution.py"):
            assert f"grade_pack_seed/{ex.id}/{part}" in names, (ex.id, part)
        assert (ROOT / "solutions" / f"{ex.id}.py").read_bytes() not in contents, ex.id
    assert not [n for n in names if "solutions" in n or n.endswith(".json")]
    assert "grade_pack_seed/pack.toml" in names


@pytest.mark.slow
def test_init_ci_pins_the_pack_it_installs_and_pip_holds_the_pin(tmp_path: Path) -> None:
    pack, out = tmp_path / "p", tmp_path / "course"
    assert grade("new", "ex42_demo", "--pack", str(pack)).returncode == 0
    res = grade("init-ci", "github", "--out", str(out), "--pack", str(pack), "--no-wheels")
    assert res.returncode == 0, res.stderr
    workflow = (out / ".github" / "workflows" / "classroom.yml").read_text()
    line = next(ln for ln in workflow.splitlines() if "pip install" in ln)
    wheel = next((out / ".grade" / "wheels").glob("grade_pack_p-0.1-*.whl"))
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert f'"grade-pack-p @ file://$GITHUB_WORKSPACE/.grade/wheels/{wheel.name}#sha256={digest}"' in line, line
    with zipfile.ZipFile(wheel) as z:
        assert "grade_pack_p/ex42_demo/checks.py" in z.namelist()
        assert not [n for n in z.namelist() if "solutions" in n]
    # the pin as the job's pip reads it: the wheel installs, and the grader finds the pack through its entry point
    requirement = shlex.split(line.split("--disable-pip-version-check", 1)[1])[-1]
    requirement = requirement.replace("$GITHUB_WORKSPACE", str(out))
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--disable-pip-version-check", "--target"]
    res = subprocess.run([*pip, str(tmp_path / "site"), requirement], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    env = {"PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path / "site")]), "GRADE_PACKS": str(ROOT)}
    assert "[pack p: ex42_demo]" in grade("list", cwd=tmp_path, env=env).stdout
    # a wheel swapped in the repository is refused
    wheel.write_bytes(wheel.read_bytes() + b"\0")
    res = subprocess.run([*pip, str(tmp_path / "other"), requirement], capture_output=True, text=True, timeout=300)
    assert res.returncode != 0 and "HASHES" in res.stderr, res.stderr


def test_stub_fails_must_name_checks_of_the_exercise(tmp_path: Path) -> None:
    pack = a_pack(tmp_path, "ex1_fork")
    spec = pack / "exercises" / "ex1_fork" / "exercise.toml"
    spec.write_text(spec.read_text().replace('title = "Fork a child process"', 'title = "x"\nstub_fails = ["nope"]'))
    res = grade("list", "--pack", str(pack), env={"GRADE_PACKS": ""})
    one_line(res, "stub_fails names 'nope'", "exercise.toml")


def test_a_running_stub_is_held_to_its_stub_fails() -> None:
    """ex7's stub runs and earns its threads; verify still refuses it if it passed a check it must fail."""
    from grader.report import CheckResult, Report
    from grader.verify import Case

    case = Case("stub", ROOT / "exercises" / "ex7_lock" / "solution.py", stub_fails=("lock_held", "balance"))

    def report(lock_held: bool) -> Report:
        checks = [
            CheckResult(id="two_threads", title="t", passed=True, score=1, max_score=1, message="ok"),
            CheckResult(
                id="lock_held", title="l", passed=lock_held, score=3 if lock_held else 0, max_score=3, message="m"
            ),
            CheckResult(id="balance", title="b", passed=False, score=0, max_score=2, message="m"),
        ]
        score = sum(c.score for c in checks)
        return Report(
            exercise="ex7_lock",
            status="failed",
            score=score,
            max_score=6,
            checks=checks,
            grader_version="x",
            duration_s=1,
        )

    assert problem(case, report(lock_held=False)) is None
    assert "the stub must fail lock_held, balance" in (problem(case, report(lock_held=True)) or "")
    assert "must score 0" in (problem(Case("stub", case.path), report(lock_held=False)) or "")
