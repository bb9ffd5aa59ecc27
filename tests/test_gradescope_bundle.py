"""What `grade init-ci gradescope` puts in the bundle, and what it refuses. The bundle running as Gradescope runs
it (a fresh container, default capabilities, no network) is tests/test_hosts.py."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest

import grader.ci_templates as templates
from grader.ci_templates import write
from grader.ci_templates.host import stage
from grader.errors import GraderError


def _zip(files: list[Path]) -> zipfile.ZipFile:
    return zipfile.ZipFile(files[-1])


def test_bundle_carries_the_grader_and_its_wheels_for_each_python(tmp_path: Path) -> None:
    files = write("gradescope", tmp_path)
    assert [f.relative_to(tmp_path).as_posix() for f in files] == [
        "gradescope/setup.sh",
        "gradescope/run_autograder",
        "grade-autograder.zip",
    ]
    with _zip(files) as z:
        names = z.namelist()
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in z.infolist()}
        setup = z.read("setup.sh").decode()
    assert modes["setup.sh"] == modes["run_autograder"] == 0o755  # at the zip's root, executable once unzipped
    assert [n for n in names if n.startswith("wheels/grade_autograder-")]
    for tag in ("cp311", "cp312"):  # Debian 12 and Ubuntu 22.04 (3.11), Ubuntu 24.04 (3.12)
        assert [n for n in names if n.startswith("wheels/pydantic_core-") and f"-{tag}-" in n], names
    assert "grade" not in [n.split("/")[-1].split("-")[0] for n in names]  # never PyPI's `grade`
    assert "exec /opt/grade/bin/python -I -m grader" in setup


def test_no_wheels_installs_the_spec_or_the_course_wheel(tmp_path: Path) -> None:
    spec = "git+https://example.org/course/grader.git@v1"
    with _zip(write("gradescope", tmp_path / "a", install=spec, bundle_wheels=False)) as z:
        assert f"pip install --quiet --disable-pip-version-check {spec}" in z.read("setup.sh").decode()
        assert not [n for n in z.namelist() if n.endswith(".whl")]
    with _zip(write("gradescope", tmp_path / "b", bundle_wheels=False)) as z:
        (own,) = [n for n in z.namelist() if n.endswith(".whl")]
        assert own.startswith("dist/grade_autograder-") and f"./{own}" in z.read("setup.sh").decode()


def test_without_a_source_tree_or_a_spec_init_ci_refuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(templates, "_project", lambda: None)
    for target in ("github", "gitlab", "gradescope"):
        with pytest.raises(GraderError, match=r"^cannot write an install line: .* pass --install"):
            write(target, tmp_path / target)


def test_setup_sh_is_valid_bash(tmp_path: Path) -> None:
    files = write("gradescope", tmp_path, install="./grader.whl", bundle_wheels=False)
    for script in files[:2]:
        res = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert res.returncode == 0, res.stderr


def test_stage_takes_files_under_the_names_batch_accepts(tmp_path: Path) -> None:
    """ex1.py, ex02.py, ex3_pool.py, inside one top folder or loose; links and other files are not copied."""
    up = tmp_path / "upload" / "my work"
    up.mkdir(parents=True)
    (up / "ex1.py").write_text("print(1)\n")
    (up / "ex02.py").write_text("print(2)\n")
    (up / "ex3_pool.py").symlink_to("/etc/passwd")
    (up / "grader.py").write_text("raise SystemExit\n")
    lines = stage(tmp_path / "upload", tmp_path / "w")
    staged = sorted(p.relative_to(tmp_path / "w").as_posix() for p in (tmp_path / "w").rglob("*.py"))
    assert staged == ["exercises/ex1_fork/solution.py", "exercises/ex2_process/solution.py"]
    # the link is no candidate at all (grade batch's rules skip links), so it is neither copied nor listed as found
    assert not any(line.startswith("ex3_pool") for line in lines), lines
