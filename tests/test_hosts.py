"""The CI set-ups run where they really run: the Gradescope bundle and the GitLab job's own commands, in fresh
containers built from the base image alone (no grader pre-installed), as root with Docker's default
capabilities and seccomp profile — no added capability, not privileged — and no network while grading."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import jsonschema
import pytest
import yaml  # type: ignore[import-untyped]

from grader.catalog import registry
from grader.ci_templates import write
from grader.image.build import BOOTSTRAP_BASE
from grader.sandbox.docker import connect

from .conftest import ROOT, SUBMISSIONS

pytestmark = [pytest.mark.docker, pytest.mark.slow]
LABEL = {"grade.run": "host-emulation-test"}
SHADOW = ROOT / "tests" / "attacks" / "programs" / "gradescope_shadow_grader"
FULL = sum(ex.max_score for ex in registry().values())  # 95: ex1 10, ex2 10, ex3 13, ex4 9, ex5 8, ex6-ex9 45
# Gradescope's harness: the bundle unzipped in /autograder/source, setup.sh run once with network while the
# image is built, run_autograder copied beside it; the submission arrives later, in /autograder/submission.
GRADESCOPE = """FROM {base}
COPY source/ /autograder/source/
RUN mkdir -p /autograder/results /autograder/submission \\
    && cp /autograder/source/run_autograder /autograder/run_autograder \\
    && bash /autograder/source/setup.sh
WORKDIR /autograder
ENTRYPOINT []
"""
# Stands in for a tracer that cannot attach (the host fault of issue 9): it fails as strace does there.
BROKEN_TRACER = (
    "printf '#!/bin/sh\\necho \"strace: attach: ptrace(PTRACE_SEIZE, 2): Operation not permitted\" >&2\\nexit 1\\n'"
    " > /usr/bin/strace && exec /autograder/run_autograder"
)


@dataclass(frozen=True)
class Run:
    code: int
    logs: str
    results: dict | None  # type: ignore[type-arg]

    @property
    def score(self) -> float:
        assert self.results is not None, self.logs
        return float(self.results.get("score", -1))


def _tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _folder(path: Path, prefix: str = "") -> dict[str, bytes]:
    return {prefix + p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def _unzip(bundle: Path, dest: Path) -> None:
    """As unzip does: the files and the modes the zip carries (the scripts are executable)."""
    with zipfile.ZipFile(bundle) as z:
        z.extractall(dest)
        for info in z.infolist():
            if info.external_attr >> 16:
                (dest / info.filename).chmod((info.external_attr >> 16) & 0o777)


def _read(container: docker.models.containers.Container, path: str) -> bytes | None:
    try:
        stream, _ = container.get_archive(path)
    except docker.errors.NotFound:
        return None
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        member = tar.extractfile(Path(path).name)
        return member.read() if member is not None else None


@pytest.fixture(scope="module")
def client() -> docker.DockerClient:
    return connect()


@pytest.fixture(scope="module")
def autograder(client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The image Gradescope would build from the bundle `grade init-ci gradescope` writes."""
    tmp = tmp_path_factory.mktemp("gradescope")
    bundle = write("gradescope", tmp / "out")[-1]
    _unzip(bundle, tmp / "ctx" / "source")
    (tmp / "ctx" / "Dockerfile").write_text(GRADESCOPE.format(base=BOOTSTRAP_BASE))
    image, _ = client.images.build(path=str(tmp / "ctx"), rm=True, forcerm=True, labels=LABEL)
    try:
        yield image.id
    finally:
        with contextlib.suppress(docker.errors.APIError):
            client.images.remove(image.id, force=True)


def _gradescope(client: docker.DockerClient, image: str, files: dict[str, bytes], command: str = "") -> Run:
    """One submission as Gradescope grades it: root, default capabilities and seccomp, network off."""
    container = client.containers.create(
        image,
        ["sh", "-c", command or "exec /autograder/run_autograder"],
        network_mode="none",
        user="root",
        labels=LABEL,
    )
    try:
        container.put_archive("/autograder/submission", _tar(files))
        container.start()
        code = container.wait(timeout=900)["StatusCode"]
        logs = container.logs().decode("utf-8", "replace")
        raw = _read(container, "/autograder/results/results.json")
        return Run(code, logs, json.loads(raw) if raw else None)
    finally:
        container.remove(force=True)


def _references(names: dict[str, str]) -> dict[str, bytes]:
    return {names[ex]: (ROOT / "solutions" / f"{ex}.py").read_bytes() for ex in names}


def test_gradescope_upload_cannot_shadow_the_grader(client: docker.DockerClient, autograder: str) -> None:
    """Issue 14 item 1: a `grader/` package, `typer.py`, `rich.py` and `pydantic.py` at the upload's root each
    write a full-marks results.json when imported. The grader must never import them."""
    run = _gradescope(client, autograder, _folder(SHADOW))
    assert run.results is not None, run.logs
    assert "FORGED" not in run.results.get("output", ""), run.results
    assert run.score < FULL and run.results["tests"], run.results
    assert run.code == 0, run.logs  # graded (the stub scores nothing): not a grader failure


def test_gradescope_grades_the_references_uploaded_loose(client: docker.DockerClient, autograder: str) -> None:
    """Every reference, uploaded as loose files under names `grade batch` accepts: full marks, exit 0."""
    names = {
        "ex1_fork": "ex1.py",
        "ex2_process": "ex02.py",
        "ex3_pool": "ex3_pool.py",
        "ex4_subprocess": "ex04_subprocess.py",
        "ex5_queue": "ex5.py",
        "ex6_threads": "ex6.py",
        "ex7_lock": "ex07_lock.py",
        "ex8_threadlocal": "ex8_threadlocal.py",
        "ex9_pipe": "ex09.py",
    }
    run = _gradescope(client, autograder, _references(names))
    assert run.results is not None, run.logs
    failed = [(t["name"], t.get("output")) for t in run.results["tests"] if t["status"] != "passed"]
    assert run.score == FULL, (failed, run.results.get("output", "")[:3000])
    assert run.code == 0, run.logs
    assert run.results["output_format"] == "text"  # Gradescope must not render the program's output as HTML
    jsonschema.validate(run.results, json.loads((ROOT / "tests" / "schemas" / "gradescope-results.json").read_text()))


def test_gradescope_image_grades_without_root(client: docker.DockerClient, autograder: str) -> None:
    """`grade submit --sandbox none` as an ordinary user in the same image: it still grades, and says on stderr
    what protection is lost."""
    container = client.containers.create(
        autograder,
        ["grade", "submit", "ex1", "--file", "/tmp/ex1.py", "--sandbox", "none", "--format", "json"],
        network_mode="none",
        user="nobody",
        labels=LABEL,
    )
    try:
        container.put_archive("/tmp", _tar({"ex1.py": (ROOT / "solutions" / "ex1_fork.py").read_bytes()}))
        container.start()
        code = container.wait(timeout=300)["StatusCode"]
        out = container.logs(stdout=True, stderr=False).decode("utf-8", "replace")
        err = container.logs(stdout=False, stderr=True).decode("utf-8", "replace")
    finally:
        container.remove(force=True)
    assert code == 0, out + err
    report = json.loads(out)
    assert report["sandbox"] == "none" and report["score"] == report["max_score"], report.get("reason")
    assert "without root" in err and "no separate uid" in err, err


def test_gradescope_zip_with_one_top_folder(client: docker.DockerClient, autograder: str) -> None:
    """A zip upload with one top folder: its files are found; a wrong ex2 scores below full marks; a missing
    exercise says to upload it (never to commit it)."""
    wrong = next((SUBMISSIONS / "ex2_process").glob("fail__*.py")).read_bytes()
    files = {"my work/ex1_fork.py": (ROOT / "solutions" / "ex1_fork.py").read_bytes(), "my work/ex2.py": wrong}
    run = _gradescope(client, autograder, files)
    assert run.results is not None, run.logs
    by_ex: dict[str, list[dict]] = {}  # type: ignore[type-arg]
    for t in run.results["tests"]:
        by_ex.setdefault(t["name"].split(" ")[0], []).append(t)
    assert all(t["status"] == "passed" for t in by_ex["ex1_fork"]), [t.get("output") for t in by_ex["ex1_fork"]]
    assert any(t["status"] == "failed" for t in by_ex["ex2_process"])
    assert run.score < 10 + 10
    missing = [t["output"] for t in by_ex["ex3_pool"]]
    assert all("upload" in m and "commit" not in m for m in missing), missing
    assert "ex3.py" in missing[0] and "ex3_pool.py" in missing[0]
    assert run.code == 0, run.logs  # below full marks is a grade, not a failure of the autograder


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(BROKEN_TRACER, id="tracer-cannot-attach"),
        pytest.param("export GRADE_TIMEOUT_S=abc && exec /autograder/run_autograder", id="broken-host-setting"),
    ],
)
def test_gradescope_grader_failure_fails_the_run(client: docker.DockerClient, autograder: str, fault: str) -> None:
    """A fault of the host (a tracer that cannot attach, a broken setting) is never the student's 0:
    run_autograder exits non-zero and results.json carries a top-level message and no score."""
    run = _gradescope(client, autograder, _references({"ex1_fork": "ex1.py"}), command=fault)
    assert run.code != 0, run.logs
    assert run.results is not None, run.logs
    assert "score" not in run.results and not run.results.get("tests"), run.results
    assert "could not grade" in run.results["output"] and run.results["output_format"] == "text", run.results


# GitLab: the job image python:3.11-slim-bookworm cannot be pulled here. Emulated: the base image with
# Debian's python3 and pip, `python` on PATH and no EXTERNALLY-MANAGED marker, as the python image has them.
GITLAB = """FROM {base}
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-pip >/dev/null \\
    && ln -sf /usr/bin/python3 /usr/local/bin/python && rm -f /usr/lib/python3*/EXTERNALLY-MANAGED
COPY course/ /builds/course/
ENV CI_PROJECT_DIR=/builds/course
WORKDIR /builds/course
RUN {before}
ENTRYPOINT []
"""


def test_gitlab_job_commands(client: docker.DockerClient, tmp_path: Path) -> None:
    """The GitLab template's own before_script (with network, as the job has) and script (network off), in a
    course repository holding the references and a shadowing `grader/`, `typer.py`, … at its root."""
    course = tmp_path / "ctx" / "course"
    for ex in registry().values():
        (course / ex.folder).mkdir(parents=True)
        shutil.copy(ROOT / "solutions" / f"{ex.id}.py", course / ex.folder / "solution.py")
    for path, data in _folder(SHADOW).items():
        if not path.startswith("exercises/"):
            (course / path).parent.mkdir(parents=True, exist_ok=True)
            (course / path).write_bytes(data)
    job = yaml.safe_load(write("gitlab", course)[0].read_text())["grade"]
    (tmp_path / "ctx" / "Dockerfile").write_text(
        GITLAB.format(base=BOOTSTRAP_BASE, before=json.dumps(["sh", "-ec", "\n".join(job["before_script"])]))
    )
    image, _ = client.images.build(path=str(tmp_path / "ctx"), rm=True, forcerm=True, labels=LABEL)
    container = client.containers.create(
        image.id, ["sh", "-ec", "\n".join(job["script"])], network_mode="none", user="root", labels=LABEL
    )
    try:
        container.start()
        code = container.wait(timeout=900)["StatusCode"]
        logs = container.logs().decode("utf-8", "replace")
        junit = _read(container, "/builds/course/grade-junit.xml")
    finally:
        container.remove(force=True)
        with contextlib.suppress(docker.errors.APIError):
            client.images.remove(image.id, force=True)
    assert junit is not None, logs
    assert code == 0, logs
    assert b'failures="0"' in junit and b'errors="0"' in junit, junit.decode()[:3000]
    assert logs.count("passed") >= len(registry()) and f"total {FULL:g}/{FULL:g}" in logs, logs
