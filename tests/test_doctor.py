"""`grade doctor` passes on this machine and fails loudly where a protection is missing."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys

import pytest

from grader.commands import doctor
from grader.image import seccomp
from grader.sandbox.docker import DockerSandbox
from grader.settings import Settings

from .conftest import ROOT

pytestmark = pytest.mark.docker


def run_doctor(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "grader", "doctor"],
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_doctor_passes_here(sandbox: object) -> None:  # the sandbox fixture builds the image if it is stale
    res = run_doctor()
    assert res.returncode == 0, res.stdout + res.stderr
    rows = {line.split("│")[1].strip(): line for line in res.stdout.splitlines() if line.count("│") >= 3}
    for name in ("engine", "image", "kernel", "seccomp", "capabilities", "tracer", "network", "dns"):
        assert "✔" in rows[name], name
    assert "clone(CLONE_UNTRACED) errno 1" in res.stdout and "AF_VSOCK socket refused" in res.stdout
    assert "all protections in place" in res.stdout


def test_doctor_fails_loudly_without_an_engine() -> None:
    res = run_doctor(DOCKER_HOST="unix:///nonexistent/docker.sock")
    assert res.returncode == 1
    assert "cannot reach the Docker engine" in res.stdout and "PROTECTION MISSING" in res.stdout
    assert "Traceback" not in res.stdout + res.stderr


def test_doctor_fails_loudly_without_the_image() -> None:
    res = run_doctor(GRADE_IMAGE="nonexistent:tag")
    assert res.returncode == 1
    assert "nonexistent:tag is missing" in res.stdout and "PROTECTION MISSING: image" in res.stdout


def test_doctor_notices_a_profile_that_lets_clone_untraced_through(monkeypatch: pytest.MonkeyPatch) -> None:
    """A seccomp profile without the CLONE_UNTRACED refusal is a missing protection, found by the probe once
    the launcher's own filter (the second layer, which refuses it too) is off; with it on, it still holds."""
    weak = seccomp.profile()
    rules = weak["syscalls"]
    assert isinstance(rules, list)
    weak["syscalls"] = [r for r in rules if not any(a["value"] == 0x00800000 for a in r.get("args", []))]
    monkeypatch.setattr("grader.sandbox.docker.profile_json", lambda: json.dumps(weak))
    held = {f.name: f for f in doctor.diagnose(Settings())}
    assert held["seccomp"].ok, held["seccomp"].detail
    monkeypatch.setattr(DockerSandbox, "config_overrides", {"student_filter": False})
    findings = {f.name: f for f in doctor.diagnose(Settings())}
    assert not findings["seccomp"].ok and "clone(CLONE_UNTRACED) errno 0" in findings["seccomp"].detail
    assert findings["engine"].ok and findings["tracer"].ok


def test_doctor_notices_a_profile_that_lets_vsock_through(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the AF_VSOCK refusal a container reaches the hypervisor's host despite --network none."""
    import socket

    try:
        socket.socket(40, socket.SOCK_STREAM).close()
    except OSError:
        pytest.skip("this kernel has no AF_VSOCK: there is nothing for a weak profile to let through")
    weak = seccomp.profile()
    rules = weak["syscalls"]
    assert isinstance(rules, list)
    weak["syscalls"] = [r for r in rules if r["names"] != ["socket"]]
    monkeypatch.setattr("grader.sandbox.docker.profile_json", lambda: json.dumps(weak))
    monkeypatch.setattr(DockerSandbox, "config_overrides", {"student_filter": False})
    findings = {f.name: f for f in doctor.diagnose(Settings())}
    assert not findings["network"].ok and "AF_VSOCK socket OPEN" in findings["network"].detail
    assert "a filter of its own errno 0" in findings["seccomp"].detail and findings["engine"].ok  # the layer is off


def test_the_probe_uses_each_architectures_own_system_call_numbers() -> None:
    """x86-64's numbers on arm64 (Docker on Apple silicon) would call other system calls and report a
    protection missing (or present) by mistake."""
    source = doctor.probe_source().decode()
    table = re.search(r"^NR = (.*)$", source, re.M)
    assert table is not None and not re.search(r"syscall\(\d", source), "a system call number is written in"
    numbers = ast.literal_eval(table.group(1))
    assert numbers["x86_64"] == {"exit": 60, "clone": 56, "clone3": 435, "seccomp": 317}
    assert numbers["aarch64"] == {"exit": 93, "clone": 220, "clone3": 435, "seccomp": 277}


def test_capabilities_are_named() -> None:
    assert doctor.capability_names("00000000000000c0") == "SETGID, SETUID"
    assert doctor.capability_names("0000000000080000") == "SYS_PTRACE"
    assert doctor.capability_names("0") == "none"
