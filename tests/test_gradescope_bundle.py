"""The Gradescope bundle runs end to end: a container laid out like /autograder/, built from the runtime image,
no network, root with only ptrace and setuid capabilities added — and its results.json follows the schema."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import tarfile
import zipfile
from pathlib import Path

import docker
import jsonschema
import pytest

from grader.ci_templates import write
from grader.image.build import ensure_image
from grader.sandbox.docker import connect

from .conftest import ROOT, SUBMISSIONS

HERE = Path(__file__).resolve().parent
pytestmark = [pytest.mark.docker, pytest.mark.slow]
DOCKERFILE = """FROM {base}
COPY source/ /autograder/source/
COPY submission/ /autograder/submission/
RUN mkdir -p /autograder/results \\
    && cp /autograder/source/run_autograder /autograder/run_autograder && bash /autograder/source/setup.sh
WORKDIR /autograder
ENTRYPOINT []
CMD ["/autograder/run_autograder"]
"""


def test_bundle_grades_in_an_autograder_container(tmp_path: Path) -> None:
    files = write("gradescope", tmp_path / "out")
    bundle = files[-1]
    with zipfile.ZipFile(bundle) as z:
        names = z.namelist()
        assert {"setup.sh", "run_autograder"} <= set(names)  # at the zip's root
        assert any(n.startswith("wheels/grade-") for n in names)
        z.extractall(tmp_path / "ctx" / "source")
        for info in z.infolist():  # as unzip does: the modes the zip carries (the scripts are executable)
            if info.external_attr >> 16:
                (tmp_path / "ctx" / "source" / info.filename).chmod((info.external_attr >> 16) & 0o777)
    sub = tmp_path / "ctx" / "submission" / "exercises"
    (sub / "ex1_fork").mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / "ex1_fork.py", sub / "ex1_fork" / "solution.py")
    (sub / "ex2_process").mkdir()
    shutil.copy(next((SUBMISSIONS / "ex2_process").glob("fail__*.py")), sub / "ex2_process" / "solution.py")
    client = connect()
    base = ensure_image(client, progress=lambda msg: None)
    (tmp_path / "ctx" / "Dockerfile").write_text(DOCKERFILE.format(base=base))
    image, _ = client.images.build(
        path=str(tmp_path / "ctx"), tag="grade-gradescope-test:latest", rm=True, forcerm=True
    )
    container = client.containers.run(
        image.id,
        detach=True,
        network_mode="none",
        user="root",
        cap_add=["SYS_PTRACE", "SETUID", "SETGID"],
        labels={"grade.run": "gradescope-test"},
    )
    try:
        status = container.wait(timeout=300)
        logs = container.logs().decode("utf-8", "replace")
        assert status["StatusCode"] == 0, logs
        stream, _ = container.get_archive("/autograder/results/results.json")
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            member = tar.extractfile("results.json")
            assert member is not None
            data = json.loads(member.read())
        unprivileged = _without_root(client, image.id)
    finally:
        container.remove(force=True)
        with contextlib.suppress(docker.errors.APIError):
            client.images.remove(image.id, force=True)
    # without root it still grades, and says on stderr what protection is lost
    report, notice = unprivileged
    assert report["sandbox"] == "none" and report["score"] == report["max_score"], report.get("reason")
    assert "without root" in notice and "no separate uid" in notice, notice
    jsonschema.validate(data, json.loads((HERE / "schemas" / "gradescope-results.json").read_text()))
    ex1 = [t for t in data["tests"] if t["name"].startswith("ex1_fork")]
    ex2 = [t for t in data["tests"] if t["name"].startswith("ex2_process")]
    assert ex1 and all(t["status"] == "passed" for t in ex1), [t["output"] for t in ex1 if t["status"] != "passed"]
    assert any(t["status"] == "failed" for t in ex2)
    assert data["score"] == sum(t["score"] for t in data["tests"]) >= sum(t["max_score"] for t in ex1)


def _without_root(client: docker.DockerClient, image: str) -> tuple[dict, str]:  # type: ignore[type-arg]
    """`grade submit --sandbox none` as an ordinary user, in the same autograder image, with Docker's
    default capabilities: the report as JSON, and what was said on stderr."""
    solution = "/autograder/submission/exercises/ex1_fork/solution.py"
    container = client.containers.run(
        image,
        ["grade", "submit", "ex1", "--file", solution, "--sandbox", "none", "--format", "json", "--timeout", "10"],
        detach=True,
        network_mode="none",
        user="nobody",
        labels={"grade.run": "gradescope-test"},
    )
    try:
        status = container.wait(timeout=120)
        out = container.logs(stdout=True, stderr=False).decode("utf-8", "replace")
        err = container.logs(stdout=False, stderr=True).decode("utf-8", "replace")
        assert status["StatusCode"] == 0, out + err
        return json.loads(out), err
    finally:
        container.remove(force=True)
