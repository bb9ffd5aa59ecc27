"""Sandboxes run one submission and return what happened; `select` picks one by name."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.errors import EngineUnavailable, GraderError
from grader.sandbox.base import RunRequest, Sandbox
from grader.settings import Settings

if TYPE_CHECKING:
    from grader.sandbox.outcome import RunOutcome

__all__ = ["RunOutcome", "RunRequest", "Sandbox", "select"]


def __getattr__(name: str) -> Any:
    """RunOutcome, loaded when first asked for (it needs the validation library)."""
    if name == "RunOutcome":
        from grader.sandbox.outcome import RunOutcome

        return RunOutcome
    raise AttributeError(name)


def in_container() -> bool:
    """Whether this process already runs inside a container (Docker's marker file or cgroup names)."""
    if Path("/.dockerenv").exists() or Path("/run/.containerenv").exists():
        return True
    try:
        cgroup = Path("/proc/1/cgroup").read_text()
    except OSError:
        return False
    return any(word in cgroup for word in ("docker", "containerd", "kubepods", "lxc"))


def job_container() -> bool:
    """Whether this host is a CI job's throwaway container, where --sandbox none is as strong as it gets:
    Gradescope's autograder layout, or a CI job (GitLab, GitHub Actions, any runner setting CI=true) running
    in a container. A machine merely built from a container image (/.dockerenv on many cloud and lab
    machines) is neither: an instructor's class must not run in a weaker sandbox than the one chosen."""
    if Path("/autograder/source").is_dir() and Path("/autograder/submission").is_dir():
        return True
    ci = any(os.environ.get(var, "").lower() == "true" for var in ("CI", "GITLAB_CI", "GITHUB_ACTIONS"))
    return ci and in_container()


def select(
    name: str, settings: Settings, *, progress: Callable[[str], None] | None = None, ci: bool = False
) -> Sandbox:
    """The sandbox called `name`. `auto` is Docker; only `grade ci` (`ci`) in a job container falls back to none."""
    if name == "none":
        return _none(settings, progress)
    if name == "auto":
        from grader.sandbox.docker import DockerSandbox

        try:
            return DockerSandbox(settings, progress=progress)
        except EngineUnavailable as err:
            if not (ci and os.geteuid() == 0 and job_container()):
                raise EngineUnavailable(f"{err} — or, on a throwaway container, pass `--sandbox none`") from err
        print("grade: no Docker engine answers; running with --sandbox none in this CI job container", file=sys.stderr)
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
