"""Sandboxes run one submission and return what happened; `select` picks one by name."""

from __future__ import annotations

from collections.abc import Callable

from grader.errors import GraderError
from grader.sandbox.base import RunOutcome, RunRequest, Sandbox
from grader.settings import Settings

__all__ = ["RunOutcome", "RunRequest", "Sandbox", "select"]


def select(name: str, settings: Settings, *, progress: Callable[[str], None] | None = None) -> Sandbox:
    if name in ("docker", "auto"):
        from grader.sandbox.docker import DockerSandbox

        return DockerSandbox(settings, progress=progress)
    raise GraderError(f"unknown sandbox {name!r} — use docker, none or auto")
