"""The `grade` command as users run it: exit codes, formats, and one clear line for each mistake."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, SUBMISSIONS

GRADE = [sys.executable, "-m", "grader"]


def grade(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*GRADE, *args], cwd=cwd, capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}
    )


def one_line_error(res: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    assert "Traceback" not in res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), res.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def test_list_and_show() -> None:
    res = grade("list")
    assert res.returncode == 0 and "ex1" in res.stdout and "fork" in res.stdout
    res = grade("show", "fork")
    assert res.returncode == 0 and "os.fork()" in res.stdout and "子进程" in res.stdout
    assert "Checks (10 points)" in res.stdout and "the parent waits for the child" in res.stdout


def test_unknown_exercise_lists_the_known_ones() -> None:
    one_line_error(grade("submit", "ex99"), "unknown exercise 'ex99'", "ex1 (fork)")


def test_missing_file_and_folder_and_fifo(tmp_path: Path) -> None:
    one_line_error(grade("submit", "ex1", "--file", str(tmp_path / "nope.py")), "no file at")
    one_line_error(grade("submit", "ex1", "--file", str(tmp_path)), "is a folder")
    os.mkfifo(tmp_path / "fifo.py")
    one_line_error(grade("submit", "ex1", "--file", str(tmp_path / "fifo.py")), "not a regular file")


def test_outside_a_course_checkout(tmp_path: Path) -> None:
    one_line_error(grade("submit", "ex1", cwd=tmp_path), "not in a course checkout")


def test_engine_down_says_how_to_start_it(tmp_path: Path) -> None:
    res = grade("submit", "ex1", "--sandbox", "docker", env={"DOCKER_HOST": f"unix://{tmp_path}/no.sock"})
    one_line_error(res, "cannot reach the Docker engine", "dockerd")


@pytest.mark.docker
def test_missing_image_names_the_fix() -> None:
    res = grade("submit", "ex1", "--file", "solutions/ex1_fork.py", env={"GRADE_IMAGE": "grade-runtime:missing"})
    one_line_error(res, "grade-runtime:missing", "grade image build")


@pytest.mark.docker
def test_submit_reference_text_and_tree_exit_0() -> None:
    res = grade("submit", "ex1", "--file", "solutions/ex1_fork.py", "--tree")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "PASSED" in res.stdout and "Score: 10/10" in res.stdout
    assert "✔" in res.stdout and "✘" not in res.stdout
    assert "process tree" in res.stdout and "via clone" in res.stdout and "reaped by" in res.stdout


@pytest.mark.docker
def test_submit_default_file_is_the_course_stub_and_fails_with_1(tmp_path: Path) -> None:
    course = tmp_path / "course"
    shutil.copytree(ROOT / "exercises", course / "exercises")
    res = grade("submit", "1", cwd=course / "exercises" / "ex1_fork")
    assert res.returncode == 1, res.stdout + res.stderr
    assert "FAILED" in res.stdout and "created 0" in res.stdout


@pytest.mark.docker
def test_submit_json_is_the_documented_model() -> None:
    res = grade("submit", "ex1", "--file", "exercises/ex1_fork/fail__reaped__orphan.py", "--format", "json")
    assert res.returncode == 1
    data = json.loads(res.stdout)
    assert {"exercise", "status", "score", "max_score", "checks", "output", "duration_s", "runs"} <= set(data)
    assert data["exercise"] == "ex1_fork" and data["status"] == "failed"
    check = next(c for c in data["checks"] if c["id"] == "reaped")
    assert set(check) == {"id", "title", "passed", "score", "max_score", "message", "race"} and not check["passed"]
    assert data["runs"] == 1 and check["race"] is False  # an orphan is the program's doing, never a race
    assert "Process (" in data["output"] and "tree" not in data


def test_syntax_error_is_reported_before_any_container(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nprint('x'\n")
    res = grade("submit", "ex1", "--file", str(bad), env={"DOCKER_HOST": f"unix://{tmp_path}/no.sock"})
    # the engine is unreachable, yet the syntax error is what the student hears about: no container was needed
    assert res.returncode == 1, res.stderr
    assert "syntax error in bad.py line 2" in res.stdout and "Traceback" not in res.stderr


def test_version() -> None:
    from grader import __version__, judge_version

    res = grade("--version")
    assert res.returncode == 0 and res.stdout.strip() == f"grade {__version__} (judge {judge_version()})"
    assert judge_version().startswith(f"{__version__}+")


def test_a_socket_we_may_not_open_is_not_called_a_stopped_engine() -> None:
    """docker-py's own words when the user is not in the docker group (as root we cannot be refused)."""
    import docker

    from grader.sandbox.docker import ENGINE_HINT, engine_hint

    denied = docker.errors.DockerException(
        "Error while fetching server API version: ('Connection aborted.', PermissionError(13, 'Permission denied'))"
    )
    assert "docker group" in engine_hint(denied) and "dockerd running" not in engine_hint(denied)
    stopped = docker.errors.DockerException(
        "Error while fetching server API version: ('Connection aborted.', FileNotFoundError(2, 'No such file'))"
    )
    assert engine_hint(stopped) == ENGINE_HINT


def test_the_engine_client_says_which_socket_is_missing(tmp_path: Path) -> None:
    """The runs' own client (no docker SDK) on a socket that is not there: a stopped engine, named."""
    from grader.errors import EngineUnavailable
    from grader.sandbox.docker import ENGINE_HINT, connect_engine

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DOCKER_HOST", f"unix://{tmp_path}/docker.sock")
        with pytest.raises(EngineUnavailable) as caught:
            connect_engine()
    assert ENGINE_HINT in str(caught.value)


def test_the_tree_is_drawn_when_a_check_fails() -> None:
    failing = SUBMISSIONS / "ex1_fork" / "fail__one_child__two_children.py"
    res = grade("submit", "ex1", "--file", str(failing))
    assert res.returncode == 1 and "process tree" in res.stdout and "reaped by" in res.stdout
    res = grade("submit", "ex1", "--file", str(failing), "--no-tree")
    assert res.returncode == 1 and "process tree" not in res.stdout
    res = grade("submit", "ex1", "--file", "solutions/ex1_fork.py")
    assert res.returncode == 0 and "process tree" not in res.stdout  # full marks: the lines say enough


def test_clean_removes_stale_temporary_folders_only(tmp_path: Path) -> None:
    import os
    import time

    from grader.cleanup import remove_stale_folders

    old, fresh, other = tmp_path / "grade-none-old", tmp_path / "grade-unzipped-new", tmp_path / "grade-mine"
    for folder in (old, fresh, other):
        (folder / "work").mkdir(parents=True)
    hours_ago = time.time() - 2 * 3600
    for folder in (old, other):
        os.utime(folder, (hours_ago, hours_ago))
    (tmp_path / "grade-none-link").symlink_to(other)
    assert remove_stale_folders(root=tmp_path) == 1
    assert not old.exists() and fresh.exists() and other.exists()  # in use, or not ours


def _modules_after(*argv: str) -> set[str]:
    """The modules a `grade` command line has imported once it is done (run in a fresh interpreter)."""
    code = (
        "import sys\nsys.argv = ['grade', *sys.argv[1:]]\nimport grader.cli as cli\n"
        "try:\n    cli.main()\nexcept SystemExit:\n    pass\nprint(' '.join(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split("\n")[-2].split())


def test_version_and_list_import_only_what_they_need() -> None:
    """`grade --version` answers at once: typer and nothing heavy (bench/bench_cli.py prints the timings)."""
    heavy = {"rich", "pydantic", "pydantic_settings", "docker", "grader.packs", "grader.settings", "asyncio"}
    assert not _modules_after("--version") & heavy
    # typer itself validates a command's parameters with pydantic; rich and docker stay out
    assert not _modules_after("list") & {"rich", "docker"}


@pytest.mark.docker
def test_submit_runs_without_the_docker_sdk() -> None:
    """A run's calls go through grader/sandbox/engine.py: the SDK and requests are imported only to build."""
    seen = _modules_after("submit", "ex1", "--file", "solutions/ex1_fork.py", "--format", "json")
    assert "grader.sandbox.engine" in seen and "grader.background" in seen
    assert not seen & {"docker", "requests", "urllib3", "pydantic_settings", "rich"}  # JSON needs no renderer


class _Raises:
    name = "docker"

    def __init__(self) -> None:
        self.stopped = 0

    def run(self, request: object) -> object:
        raise RuntimeError("the engine broke")

    def stop_all(self) -> int:
        self.stopped += 1
        return 0


def test_a_background_run_raises_in_the_caller_what_the_run_raised() -> None:
    from grader.background import BackgroundRun
    from grader.sandbox.base import RunRequest
    from grader.settings import Settings

    run = BackgroundRun(_Raises(), RunRequest(source=b"", settings=Settings()))  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="the engine broke"):
        run.outcome()
