"""The sandbox interface: a run request in, a run outcome out (what the entrypoint reported, grader/sandbox/
outcome.py). Light on purpose: `grade submit` starts its run from here before the report model loads."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Protocol

from grader.image.policy import Policy
from grader.settings import Settings

if TYPE_CHECKING:
    from grader.sandbox.outcome import RunOutcome

# The student's uids, outside the range useradd hands to people (1000-60000). The kernel counts processes
# per uid across the whole machine (RLIMIT_NPROC, the none sandbox's stand-in for a pids limit), so the
# student must share a uid with no host account and the two sandboxes must not share one: a fork bomb in
# a container would otherwise eat the process allowance of a --sandbox none run, or of a person's login.
IMAGE_UID = 61000  # grader/image/Dockerfile creates `student` with it
# Each Docker run is one of these (all named `student` in the image), picked so that concurrent runs differ:
# the kernel's per-uid limits (processes, inotify instances, pipe buffer pages) are machine-wide, and a
# hog in one run left another with no inotify instances and 8 KiB pipes when they shared a uid.
IMAGE_UIDS = range(61100, 61228)
NONE_UID = 61001  # ensure_student and the Gradescope setup.sh create `grade-student` with it when free


@dataclasses.dataclass(frozen=True)
class RunRequest:
    source: bytes
    settings: Settings
    dns: bool = True

    def model_copy(self, *, update: dict[str, Any] | None = None) -> RunRequest:
        return dataclasses.replace(self, **(update or {}))


def entrypoint_policy(
    request: RunRequest,
    *,
    script: str,
    rundir: str,
    workdir: str,
    source_z: str | None,
    user: str,
    uid: int | None,
    python: str | None,
    rlimits: dict[str, int],
) -> Policy:
    """The policy the entrypoint reads from GRADE_CONFIG: the request's limits, and what only the sandbox knows
    (where things lie, who the student is), which every sandbox must state."""
    s = request.settings
    return Policy(
        script=script,
        rundir=rundir,
        workdir=workdir,
        source_z=source_z,
        user=user,
        uid=uid,
        python=python,
        timeout=s.timeout_s,
        grace=s.grace_s,
        output_bytes=s.output_bytes,
        output_kill_bytes=s.output_stop_bytes,
        trace_bytes=s.trace_bytes,
        rlimits=rlimits,
        dns=request.dns,
        start_method=s.start_method,
        student_filter=True,
    )


class Sandbox(Protocol):
    name: str

    def run(self, request: RunRequest) -> RunOutcome: ...


def __getattr__(name: str) -> Any:
    """RunOutcome, loaded when first asked for (it needs the validation library)."""
    if name == "RunOutcome":
        from grader.sandbox.outcome import RunOutcome

        return RunOutcome
    raise AttributeError(name)
