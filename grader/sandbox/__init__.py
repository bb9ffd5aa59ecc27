"""Sandboxes run one submission and return what happened; `select` picks one by name."""

from __future__ import annotations

from grader.sandbox.base import RunOutcome, RunRequest, Sandbox

__all__ = ["RunOutcome", "RunRequest", "Sandbox", "select"]


def select(name: str, settings: object) -> Sandbox:
    from grader.settings import Settings

    assert isinstance(settings, Settings)
    if name in ("docker", "auto"):
        from grader.sandbox.docker import DockerSandbox

        return DockerSandbox(settings)
    from grader.errors import GraderError

    raise GraderError(f"unknown sandbox {name!r}: use docker or none")
