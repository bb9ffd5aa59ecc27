"""`--sandbox none` gives the Docker sandbox's verdicts: every reference and must-fail case graded both ways."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pydantic
import pytest

from grader.catalog import resolve
from grader.grading import grade
from grader.report import Report
from grader.sandbox import select
from grader.sandbox.base import IMAGE_UID, RunRequest
from grader.sandbox.none import NoneSandbox, rlimits
from grader.settings import Settings

from .conftest import ROOT, SUBMISSIONS, GradeFile, failing

CASES = sorted(SUBMISSIONS.glob("*/*.py")) + sorted(ROOT.glob("solutions/ex*.py"))

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
    assert int(uid) == none_sandbox.user.pw_uid not in (0, IMAGE_UID)
    assert writable == "True" and int(nproc) == rlimits(settings)["nproc"]
    assert not Path("/tmp/grade-none.lock").exists() or os.stat("/tmp/grade-none.lock").st_uid == 0


def test_resolv_conf_is_left_as_it_was(none_sandbox: NoneSandbox, settings: Settings) -> None:
    before = Path("/etc/resolv.conf").read_bytes()

    outcome = none_sandbox.run(
        RunRequest(source=b"import subprocess\nsubprocess.run(['nslookup', 'www.python.org'])\n", settings=settings)
    )
    assert "151.101.0.223" in outcome.stdout.decode()
    assert Path("/etc/resolv.conf").read_bytes() == before


def test_select_none_by_name(settings: Settings) -> None:
    assert select("none", settings).name == "none"


def test_auto_falls_back_to_none_in_a_container_without_an_engine(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import grader.sandbox as sandboxes
    import grader.sandbox.docker as docker_sandbox
    from grader.errors import EngineUnavailable

    def no_engine(*args: object, **kwargs: object) -> None:
        raise EngineUnavailable("cannot reach the Docker engine")

    monkeypatch.setattr(docker_sandbox, "DockerSandbox", no_engine)
    monkeypatch.setattr(sandboxes, "in_container", lambda: True)
    assert select("auto", settings).name == "none"
    assert "--sandbox none" in capsys.readouterr().err
    monkeypatch.setattr(sandboxes, "in_container", lambda: False)
    with pytest.raises(EngineUnavailable):
        select("auto", settings)


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


def _processes_of(uid: int) -> int:
    count = 0
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):  # a process that ended while we looked
            count += entry.name.isdigit() and entry.stat().st_uid == uid
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
        while _processes_of(IMAGE_UID) < settings.pids + 16 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _processes_of(IMAGE_UID) >= settings.pids + 16, "the container never filled up"
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
    profile — no cap_add, not privileged, no network: what a Gradescope or GitLab job container grants."""
    name = f"grade-test-job-{uuid.uuid4().hex[:12]}"
    mounts = ["-v", f"{ROOT}:/grader:ro", "-v", f"{DEPS}:/deps:ro", "-e", "PYTHONPATH=/grader:/deps", "-w", "/grader"]
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
    bad = _submit_in_a_job_container(sandbox.image, "tests/submissions/ex1_fork/fail__one_child__two_children.py")
    assert bad["status"] == "failed" and bad["score"] < bad["max_score"], bad["reason"]
    assert "one_child" in [c["id"] for c in bad["checks"] if not c["passed"]]  # type: ignore[union-attr, index]
