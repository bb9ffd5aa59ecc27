"""The sandbox policy is one typed contract: both sandboxes state every field, the entrypoint refuses any other."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.image import build
from grader.image.policy import Policy, PolicyError
from grader.sandbox.base import IMAGE_UID, IMAGE_UIDS, RunOutcome, RunRequest
from grader.settings import Settings

from .conftest import ROOT

IMAGE = ROOT / "grader" / "image"
FIELDS = [field.name for field in dataclasses.fields(Policy)]


def _policy(**changes: object) -> Policy:
    base = Policy(
        script="/submission/solution.py",
        rundir="/run/grade",
        workdir="/tmp",
        source_z=None,
        user="student",
        uid=61100,
        python=None,
        timeout=10.0,
        grace=0.5,
        output_bytes=1 << 20,
        output_kill_bytes=8 << 20,
        trace_bytes=32 << 20,
        rlimits={"nofile": 256, "fsize": 64 << 20, "core": 0},
        dns=True,
        start_method=None,
        student_filter=True,
    )
    return dataclasses.replace(base, **changes)


def test_the_json_round_trips() -> None:
    for policy in (
        _policy(),
        _policy(source_z="eJwDAAAAAAE=", uid=None, python="/usr/bin/python3", start_method="fork"),
    ):
        assert Policy.from_json(policy.to_json()) == policy


@pytest.mark.parametrize("key", FIELDS)
def test_a_missing_key_is_refused_by_name(key: str) -> None:
    raw = json.loads(_policy().to_json())
    del raw[key]
    with pytest.raises(PolicyError, match=rf"^the policy lacks {key}: the grader and its entrypoint differ$"):
        Policy.from_json(json.dumps(raw))


def test_an_unknown_key_is_refused_by_name() -> None:
    raw = json.loads(_policy().to_json())
    raw["dns_args"] = ["--port=5353"]  # a key once read with a default that no grader ever set
    with pytest.raises(PolicyError, match=r"^the policy has unknown dns_args: the grader and its entrypoint differ$"):
        Policy.from_json(json.dumps(raw))


@pytest.mark.parametrize(
    ("key", "value"),
    [("timeout", "10"), ("uid", True), ("rlimits", {"nofile": "256"}), ("dns", 1), ("script", None)],
)
def test_a_value_of_the_wrong_type_is_refused(key: str, value: object) -> None:
    raw = json.loads(_policy().to_json())
    raw[key] = value
    with pytest.raises(PolicyError, match=rf"^policy key '{key}' must be "):
        Policy.from_json(json.dumps(raw))
    with pytest.raises(PolicyError, match=rf"^policy key '{key}' must be "):
        _policy(**{key: value})  # made on the grader's side: the same check


@pytest.mark.parametrize("text", ["", "not json", "[1, 2]"])
def test_a_policy_that_is_no_json_object_is_refused(text: str) -> None:
    with pytest.raises(PolicyError, match=r"^the policy (is not JSON|is a JSON list)"):
        Policy.from_json(text)


def test_the_image_carries_the_policy_beside_its_entrypoint() -> None:
    """The image's tag and build context include policy.py, and the Dockerfile copies it to /opt/grade/."""
    assert "policy.py" in build.CONTEXT_FILES
    copies = [line for line in (IMAGE / "Dockerfile").read_text().splitlines() if line.startswith("COPY ")]
    assert any("policy.py" in line.split() and line.endswith(" /opt/grade/") for line in copies), copies


def test_the_images_accounts_are_the_uids_the_grader_hands_out() -> None:
    """The Dockerfile creates `student` with IMAGE_UID and the pool the Docker sandbox picks each run's uid from."""
    text = (IMAGE / "Dockerfile").read_text()
    assert f"useradd --uid {IMAGE_UID} " in text
    assert f"for uid in $(seq {IMAGE_UIDS[0]} {IMAGE_UIDS[-1]}); do" in text


def _entrypoint(config: str) -> subprocess.CompletedProcess[str]:
    """The entrypoint as the none sandbox starts it: `python3 -I`, from grader/image/, no grader on sys.path."""
    env = {"PATH": os.environ["PATH"], "GRADE_CONFIG": config}
    return subprocess.run(
        [sys.executable, "-I", str(IMAGE / "entrypoint.py")], env=env, capture_output=True, text=True, timeout=30
    )


def test_the_entrypoint_refuses_an_incomplete_policy_in_one_line() -> None:
    """Before the contract, a missing key was a KeyError traceback (and a missing `dns` silently meant True)."""
    raw = json.loads(_policy().to_json())
    del raw["dns"]
    res = _entrypoint(json.dumps(raw))
    assert res.returncode == 2 and res.stdout == "", res
    assert res.stderr == "grade entrypoint: the policy lacks dns: the grader and its entrypoint differ\n", res.stderr
    outcome = RunOutcome.from_entrypoint(res.stdout + res.stderr)
    assert outcome.infra_error and outcome.infra_error.endswith(
        "the policy lacks dns: the grader and its entrypoint differ"
    )


@pytest.mark.docker
def test_the_docker_sandbox_states_a_complete_policy(settings: Settings) -> None:
    """The policy the container is created with, read back from the engine, is the one the entrypoint accepts."""
    from grader.sandbox.docker import DockerSandbox, destroy

    box = DockerSandbox(settings)
    cid = box._create(RunRequest(source=b"print(1)\n", settings=settings, dns=False), 61117)
    try:
        env = dict(item.split("=", 1) for item in box.engine.inspect(cid)["Config"]["Env"])
    finally:
        assert destroy(box.engine, cid)
    policy = Policy.from_json(env["GRADE_CONFIG"])
    assert policy.uid == 61117 and policy.user == "student" and policy.python is None
    assert policy.source_z and policy.script == "/submission/solution.py" and not policy.dns
    assert policy.timeout == settings.timeout_s and policy.output_kill_bytes == settings.output_stop_bytes
    assert policy.rlimits == settings.rlimits() and policy.student_filter


@pytest.mark.docker
def test_docker_policy_overrides_are_checked(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests lay fields over the policy; a field no policy has, or a value of the wrong type, is refused."""
    from grader.sandbox.docker import DockerSandbox

    box = DockerSandbox(settings)
    request = RunRequest(source=b"print(1)\n", settings=settings, dns=False)
    monkeypatch.setattr(box, "config_overrides", {"seccomp_bpf": False})
    with pytest.raises(TypeError, match="seccomp_bpf"):
        box._create(request, 61117)
    monkeypatch.setattr(box, "config_overrides", {"student_filter": "no"})
    with pytest.raises(PolicyError, match="student_filter"):
        box._create(request, 61117)


def test_the_none_sandbox_states_a_complete_policy(settings: Settings, tmp_path: Path) -> None:
    from grader.sandbox.none import NoneSandbox, rlimits

    box = NoneSandbox(settings)
    policy = box._policy(RunRequest(source=b"print(1)\n", settings=settings), tmp_path)
    assert Policy.from_json(policy.to_json()) == policy
    assert policy.source_z is None and Path(policy.script).read_bytes() == b"print(1)\n"
    assert policy.user == box.user.pw_name and policy.uid is None and policy.python == box.python
    assert policy.rlimits == rlimits(settings) and policy.dns and policy.grace == settings.grace_s
