"""What a run produced: the entrypoint's one result line, decoded, plus what only the sandbox can see."""

from __future__ import annotations

import base64
import json
import zlib

from pydantic import BaseModel, Field

from grader.image.policy import MARKER


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
