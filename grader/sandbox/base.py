"""The sandbox interface: a run request in, a run outcome out (what the entrypoint reported)."""

from __future__ import annotations

import base64
import dataclasses
import json
import zlib
from typing import Any, Protocol

from pydantic import BaseModel, Field

from grader.image.policy import MARKER, Policy
from grader.settings import Settings

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


class RunOutcome(BaseModel):
    """What the root entrypoint saw, plus what only the sandbox can see (OOM kills, engine failures)."""

    started: float = 0.0
    ended: float = 0.0
    strace_status: int | None = None
    main_pid: int | None = None
    kill_reason: str | None = None
    kill_time: float | None = None
    stdout: bytes = b""
    stdout_bytes: int = 0
    stderr: bytes = b""
    stderr_bytes: int = 0
    tracer_stderr: str = ""  # strace's own stderr (and the launcher's): never the student's, who has its own pipe
    trace: str = ""
    trace_bytes: int = 0
    trace_truncated: bool = False
    dns_log: str = ""
    dns_error: str | None = None
    untraced: list[int] = Field(default_factory=list)
    blocked: dict[int, str] = Field(default_factory=dict)  # pid -> what it was doing when the run was stopped
    oom_killed: bool = False
    oom_kills: int | None = None  # counted by the container's memory cgroup; None where unreadable
    infra_error: str | None = None
    wall_s: float = 0.0

    @classmethod
    def from_entrypoint(cls, text: str) -> RunOutcome:
        """Decode the entrypoint's one result line; anything else in `text` is ignored."""
        for line in reversed(text.splitlines()):
            if line.startswith(MARKER):
                raw = json.loads(line[len(MARKER) :])
                raw["stdout"] = base64.b64decode(raw["stdout"])
                raw["stderr"] = base64.b64decode(raw["stderr"])
                raw["trace"] = zlib.decompress(base64.b64decode(raw.pop("trace_z"))).decode("utf-8", "replace")
                raw["wall_s"] = raw["ended"] - raw["started"]
                return cls.model_validate(raw)
        return cls(
            infra_error="the sandbox ended without a result" + (f": {text.strip()[-300:]}" if text.strip() else "")
        )


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
