"""Sandboxes run one submission and return what happened; `select` picks one by name."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from grader.errors import EngineUnavailable, GraderError
from grader.sandbox.base import RunOutcome, RunRequest, Sandbox
from grader.settings import Settings

__all__ = ["RunOutcome", "RunRequest", "Sandbox", "select"]


def in_container() -> bool:
    """Whether this process already runs inside a container (Docker's marker file or cgroup names)."""
    if Path("/.dockerenv").exists() or Path("/run/.containerenv").exists():
        return True
    try:
        cgroup = Path("/proc/1/cgroup").read_text()
    except OSError:
        return False
    return any(word in cgroup for word in ("docker", "containerd", "kubepods", "lxc"))


def select(name: str, settings: Settings, *, progress: Callable[[str], None] | None = None) -> Sandbox:
    if name == "none":
        return _none(settings, progress)
    if name == "auto":
        from grader.sandbox.docker import DockerSandbox

        try:
            return DockerSandbox(settings, progress=progress)
        except EngineUnavailable:
            # Gradescope and similar: already a throwaway container, no engine inside it
            if os.geteuid() != 0 or not in_container():
                raise
        print("grade: no Docker engine answers; running with --sandbox none inside this container", file=sys.stderr)
        return _none(settings, progress)
    if name == "docker":
        from grader.sandbox.docker import DockerSandbox

        return DockerSandbox(settings, progress=progress)
    raise GraderError(f"unknown sandbox {name!r} — use docker, none or auto")


def _none(settings: Settings, progress: Callable[[str], None] | None) -> Sandbox:
    from grader.sandbox.none import NoneSandbox

    box = NoneSandbox(settings, progress=progress)
    if box.notice:  # every command that grades says what protection is lost, once, on stderr
        print(f"grade: notice: {box.notice}", file=sys.stderr)
    return box
