"""The sandbox policy: what the grader tells the root entrypoint about one run, on both sides of the boundary.

The grader builds one `Policy` (grader/sandbox/base.py `entrypoint_policy`, then each sandbox's own fields)
and hands it over as JSON in GRADE_CONFIG; the entrypoint reads it back with `Policy.from_json`. Both sides
import this one module (the image copies it beside the entrypoint, in /opt/grade/; under --sandbox none the
entrypoint loads it from grader/image/), so a key only one side knows, or a default that differs between
them, cannot exist: every field is required, typed, and checked when the policy is made or read.

Standard library only: the entrypoint runs with `python3 -I` in an image that has nothing else.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass

MARKER = "@@GRADE-RESULT@@"  # starts the entrypoint's one result line


class PolicyError(ValueError):
    """A policy that is not complete, has a key no side knows, or a value of the wrong type."""


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return _is_int(value) or isinstance(value, float)


def _is_limits(value: object) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and _is_int(v) for k, v in value.items())


# each field's type (as its annotation spells it) -> the test a value of that type passes
_CHECKS: dict[str, Callable[[object], bool]] = {
    "str": lambda v: isinstance(v, str),
    "str | None": lambda v: v is None or isinstance(v, str),
    "int": _is_int,
    "int | None": lambda v: v is None or _is_int(v),
    "float": _is_number,
    "bool": lambda v: isinstance(v, bool),
    "dict[str, int]": _is_limits,
}


@dataclass(frozen=True)
class Policy:
    """One run's policy. No field has a default: whoever builds a policy states every one of them."""

    script: str  # where the submission lies (and is written, when `source_z` carries it)
    rundir: str  # root-only folder for the trace, dnsmasq's log and pid file
    workdir: str  # the student's working and home folder
    source_z: str | None  # the submission, zlib + base64 (Docker: no host folder is shared); None: already at `script`
    user: str  # the student's account name
    uid: int | None  # the student's uid and gid (Docker: one of the image's pool); None: the account's own
    python: str | None  # the student's interpreter; None: python3 on the entrypoint's PATH
    timeout: float  # seconds, from the submission's first exec
    grace: float  # seconds processes may outlive main before they are killed
    output_bytes: int  # stdout and stderr kept, each
    output_kill_bytes: int  # stdout + stderr after which the run is stopped
    trace_bytes: int  # size of the trace after which the run is stopped
    rlimits: dict[str, int]  # RLIMIT_<NAME> -> soft and hard limit
    dns: bool  # start dnsmasq on loopback
    start_method: str | None  # multiprocessing start method forced in every interpreter (tests only)
    student_filter: bool  # the launcher's seccomp filter (off only in tests that prove the other layers hold)

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if not _CHECKS[str(field.type)](value):
                raise PolicyError(f"policy key {field.name!r} must be {field.type}, not {type(value).__name__}")

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Policy:
        """The policy in `text`, or PolicyError naming the first problem: not JSON, a key missing, one unknown."""
        try:
            raw = json.loads(text)
        except ValueError as err:
            raise PolicyError(f"the policy is not JSON ({err})") from None
        if not isinstance(raw, dict):
            raise PolicyError(f"the policy is a JSON {type(raw).__name__}, not an object")
        known = [field.name for field in dataclasses.fields(cls)]
        missing = [name for name in known if name not in raw]
        unknown = sorted(name for name in raw if name not in known)
        if missing:
            raise PolicyError(f"the policy lacks {', '.join(missing)}: the grader and its entrypoint differ")
        if unknown:
            raise PolicyError(f"the policy has unknown {', '.join(unknown)}: the grader and its entrypoint differ")
        return cls(**raw)
