"""`--sandbox none` gives the Docker sandbox's verdicts: every reference and must-fail case graded both ways."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pydantic
import pytest

from grader.catalog import resolve
from grader.errors import GraderError
from grader.grading import grade
from grader.report import Report
from grader.sandbox import select
from grader.sandbox.base import IMAGE_UID, IMAGE_UIDS, RunRequest
from grader.sandbox.none import NoneSandbox, _serialized, lock_path, rlimits
from grader.settings import Settings

from .conftest import ROOT, GradeFile, examples, failing

CASES = examples() + sorted(ROOT.glob("solutions/ex*.py"))

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def none_sandbox(settings: Settings) -> NoneSandbox:
    return NoneSandbox(settings)


def _exercise(path: Path) -> str:
    return path.parent.name if path.parent.name != "solutions" else path.stem


def _verdict(report: Report) -> tuple[str, list[str]]:
    return report.status, failing(report)


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_same_verdict_as_docker(
    grade_file: GradeFile, none_sandbox: NoneSandbox, settings: Settings, path: Path
) -> None:
    ex = resolve(_exercise(path))

    def both() -> tuple[tuple[str, list[str]], tuple[str, list[str]], Report]:
        theirs = grade_file(ex.id, path)
        ours = grade(ex, path.read_bytes(), sandbox=none_sandbox, settings=settings, name=path.name)
        return _verdict(theirs), _verdict(ours), ours

    docker, none, report = both()
    if docker != none:  # a racy case (who prints first) gets one more try before it counts
        docker, none, report = both()
    assert none == docker, (report.reason, [c.message for c in report.checks if not c.passed])
    assert report.sandbox == "none"


def test_runs_as_the_student_in_its_own_scratch_folder(
    tmp_path: Path, none_sandbox: NoneSandbox, settings: Settings
) -> None:

    probe = (
        b"import os, resource\n"
        b"print(os.getuid(), os.access(os.getcwd(), os.W_OK), resource.getrlimit(resource.RLIMIT_NPROC)[0])\n"
    )
    outcome = none_sandbox.run(RunRequest(source=probe, settings=settings, dns=False))
    uid, writable, nproc = outcome.stdout.decode().split()
    assert int(uid) == none_sandbox.user.pw_uid and int(uid) not in (0, IMAGE_UID, *IMAGE_UIDS)
    assert writable == "True" and int(nproc) == rlimits(settings)["nproc"]
    assert lock_path().parent.stat().st_uid == 0 and lock_path().stat().st_uid == 0


def test_the_lock_file_is_never_followed_through_a_link(tmp_path: Path) -> None:
    """The fixed lock in the shared temp folder was opened by root following links: another user's link there
    made root create or append to a file of that user's choosing."""
    target = tmp_path / "chosen-by-another-user"
    link = tmp_path / "grade-none.lock"
    link.symlink_to(target)
    with pytest.raises(GraderError, match="remove it if it is a link"), _serialized(link):
        pass
    assert not target.exists()
    assert lock_path().parent in (Path("/run"), Path("/var/run"))  # root's lock: where only root may write


def test_an_output_flood_stops_at_the_output_stop_limit(none_sandbox: NoneSandbox, settings: Settings) -> None:
    """The none sandbox stopped a flood at 64 x output_bytes while the report said output_stop_bytes."""
    s = settings.model_copy(update={"output_bytes": 64 << 10, "output_stop_bytes": 256 << 10, "timeout_s": 4})
    flood = (ROOT / "tests" / "attacks" / "programs" / "line_flood.py").read_bytes()
    outcome = none_sandbox.run(RunRequest(source=flood, settings=s, dns=False))
    assert outcome.kill_reason == "output-limit", outcome.kill_reason
    assert outcome.stdout_bytes + outcome.stderr_bytes < 2 << 20, outcome.stdout_bytes  # not 64 x 64 KiB = 4 MiB


def test_resolv_conf_is_left_as_it_was(none_sandbox: NoneSandbox, settings: Settings) -> None:
    before = Path("/etc/resolv.conf").read_bytes()

    outcome = none_sandbox.run(
        RunRequest(source=b"import subprocess\nsubprocess.run(['nslookup', 'www.python.org'])\n", settings=settings)
    )
    assert "151.101.0.223" in outcome.stdout.decode()
    assert Path("/etc/resolv.conf").read_bytes() == before


def test_select_none_by_name(settings: Settings) -> None:
    assert select("none", settings).name == "none"


@pytest.fixture
def no_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    import grader.sandbox.docker as docker_sandbox
    from grader.errors import EngineUnavailable

    def refuse(*args: object, **kwargs: object) -> None:
        raise EngineUnavailable("cannot reach the Docker engine")

    monkeypatch.setattr(docker_sandbox, "DockerSandbox", refuse)


@pytest.mark.usefixtures("no_engine")
def test_auto_falls_back_to_none_only_in_grade_ci_on_a_job_container(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A machine built from a container image (/.dockerenv) with Docker down is not a throwaway job container:
    `grade submit` and `grade batch` stop; only `grade ci` in a CI job's container goes on without Docker."""
    import grader.sandbox as sandboxes
    from grader.errors import EngineUnavailable

    monkeypatch.setattr(sandboxes, "in_container", lambda: True)
    monkeypatch.setattr(sandboxes, "job_container", lambda: True)
    with pytest.raises(EngineUnavailable, match="pass `--sandbox none`"):
        select("auto", settings)  # grade submit, grade batch
    assert select("auto", settings, ci=True).name == "none"
    assert "--sandbox none in this CI job container" in capsys.readouterr().err
    monkeypatch.setattr(sandboxes, "job_container", lambda: False)
    with pytest.raises(EngineUnavailable, match="pass `--sandbox none`"):
        select("auto", settings, ci=True)


def test_a_job_container_is_gradescope_or_a_ci_job_in_a_container(monkeypatch: pytest.MonkeyPatch) -> None:
    import grader.sandbox as sandboxes

    for var in ("CI", "GITLAB_CI", "GITHUB_ACTIONS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(sandboxes, "in_container", lambda: True)
    assert not sandboxes.job_container() or Path("/autograder/source").is_dir()  # /.dockerenv alone is not one
    monkeypatch.setenv("GITLAB_CI", "true")
    assert sandboxes.job_container()
    monkeypatch.setattr(sandboxes, "in_container", lambda: False)  # a CI job on a VM has an engine to use
    assert not sandboxes.job_container() or Path("/autograder/source").is_dir()


def test_grade_submit_without_an_engine_stops_and_names_the_explicit_choice(tmp_path: Path) -> None:
    """Here (a root machine with /.dockerenv) `grade submit` used to grade without Docker after one notice."""
    env = {**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock", "CI": "true"}
    cmd = [sys.executable, "-m", "grader", "submit", "ex1", "--file", str(ROOT / "solutions" / "ex1_fork.py")]
    res = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode not in (0, 1), res.stdout  # not graded: neither passed nor failed
    assert "--sandbox none" in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert "Score" not in res.stdout, res.stdout


HOLD = b"""
import os, time
for _ in range(200):
    try:
        if os.fork() == 0:
            time.sleep(8)
            os._exit(0)
    except OSError:
        pass
time.sleep(8)
"""


def _processes_of(uids: range) -> int:
    count = 0
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):  # a process that ended while we looked
            count += entry.name.isdigit() and entry.stat().st_uid in uids
    return count


def test_a_fork_bomb_in_a_container_leaves_the_none_runs_allowance_alone(
    sandbox, none_sandbox: NoneSandbox, settings: Settings
) -> None:  # type: ignore[no-untyped-def]
    """RLIMIT_NPROC counts a uid's processes machine-wide: with one uid for both sandboxes (as once), a
    container full of forks made the none run's own fork fail with EAGAIN."""
    # a container allowed more processes than the none run: together they are well over its allowance
    roomy = settings.model_copy(update={"pids": settings.pids * 2})
    held = threading.Thread(target=sandbox.run, args=(RunRequest(source=HOLD, settings=roomy, dns=False),))
    held.start()
    try:
        deadline = time.monotonic() + 10
        while _processes_of(IMAGE_UIDS) < settings.pids + 16 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _processes_of(IMAGE_UIDS) >= settings.pids + 16, "the container never filled up"
        report = grade(
            resolve("ex1"), (ROOT / "solutions" / "ex1_fork.py").read_bytes(), sandbox=none_sandbox, settings=settings
        )
        assert report.full_marks, (report.reason, failing(report))
    finally:
        held.join()


# the grader's dependencies, mounted read-only beside its code (the image has Python 3.11, as this host must)
DEPS = Path(pydantic.__file__).resolve().parent.parent


def _submit_in_a_job_container(image: str, path: str) -> dict[str, object]:
    """`grade submit --sandbox none` as root in a container with Docker's default capabilities and seccomp
    profile — no capability added, no privilege flag, no network: what a Gradescope or GitLab job container grants."""
    name = f"grade-test-job-{uuid.uuid4().hex[:12]}"
    mounts = ["-v", f"{ROOT}:/grader:ro", "-v", f"{DEPS}:/deps:ro", "-e", "PYTHONPATH=/grader:/deps", "-w", "/grader"]
    mounts += ["-e", "GRADE_PACKS=/grader"]  # the seed pack of the uninstalled checkout, as the suite finds it
    grade = ["-m", "grader", "submit", "ex1", "--file", path, "--sandbox", "none", "--format", "json", "--tree"]
    cmd = ["docker", "run", "--rm", "--name", name, "--network", "none", *mounts, "--entrypoint", "python3", image]
    try:
        res = subprocess.run([*cmd, *grade], capture_output=True, text=True, timeout=120)
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
    assert res.stdout.startswith("{"), res.stderr[-2000:]
    report: dict[str, object] = json.loads(res.stdout)
    return report


def test_none_grades_in_a_job_container_with_default_capabilities(sandbox) -> None:  # type: ignore[no-untyped-def]
    """Without CAP_SYS_PTRACE, strace -u could not attach (every student got 0); the tracer now attaches
    while the child is still root, and the child becomes the student inside the trace."""
    good = _submit_in_a_job_container(sandbox.image, "solutions/ex1_fork.py")
    assert (good["status"], good["score"]) == ("passed", good["max_score"]), (good["reason"], good["checks"])
    tree = good["tree"]
    assert isinstance(tree, dict)
    main = tree["procs"][str(tree["root"])]
    # the trace starts at the student's exec: the launcher's own exec and calls are not the program's
    assert [e["argv"][-1].endswith("/solution.py") and e["ok"] for e in main["execs"]] == [True], main["execs"]
    bad = _submit_in_a_job_container(sandbox.image, "exercises/ex1_fork/fail__one_child__two_children.py")
    assert bad["status"] == "failed" and bad["score"] < bad["max_score"], bad["reason"]
    assert "one_child" in [c["id"] for c in bad["checks"] if not c["passed"]]  # type: ignore[union-attr, index]
