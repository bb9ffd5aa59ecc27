"""Every limit and default in one place: overridable by GRADE_* environment variables and CLI flags.

A plain dataclass with its own small validation: it is read before the container starts on every
`grade submit`, and a settings library (with the validation framework under it) cost more to import than
the rest of that path. The fields and their bounds are the contract; `Settings()` reads the environment,
keyword arguments override it, and a value out of bounds is one line naming the flag and the variable.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

from grader.errors import GraderError


def setting(default: Any, description: str, *, gt: float | None = None, ge: float | None = None) -> Any:
    return field(default=default, metadata={"description": description, "gt": gt, "ge": ge})


@dataclass(init=False)
class Settings:
    """Defaults for production runs; tests pass shorter limits through the same class."""

    image: str | None = setting(None, "runtime image tag; default: derived from the image sources")
    timeout_s: float = setting(10.0, "wall-clock limit, from the submission's first exec", gt=0)
    grace_s: float = setting(0.5, "how long processes may outlive main before they are killed", ge=0)
    pids: int = setting(64, "processes and threads in the container", ge=8)
    memory_mb: int = setting(256, "memory, swap included", ge=32)
    cpus: float = setting(1.0, "CPU quota", gt=0)
    output_bytes: int = setting(1 << 20, "stdout and stderr kept, each", ge=1024)
    output_stop_bytes: int = setting(8 << 20, "stdout + stderr after which the run is stopped", ge=1024)
    trace_bytes: int = setting(32 << 20, "size of the trace before the run is stopped", ge=1 << 16)
    tmpfs_mb: int = setting(16, "size of the writable /tmp", ge=1)
    tmpfs_inodes: int = setting(2048, "files in /tmp", ge=64)
    nofile: int = setting(256, "open files per process", ge=32)
    fsize_mb: int = setting(64, "largest file a process may write (the trace included)", ge=1)
    source_bytes: int = setting(
        256 << 10, "largest submission accepted (checked before it is decoded or compiled)", ge=1024
    )
    start_margin_s: float = setting(15.0, "time for the container itself before it is killed", gt=0)
    sandbox: str = setting("auto", "docker, none, or auto")
    start_method: str | None = setting(None, "multiprocessing start method to force, for tests")

    def __init__(self, **values: Any) -> None:
        known = {f.name: f for f in dataclasses.fields(self)}
        for name in values.keys() - known.keys():
            raise GraderError(f"unknown setting {name!r} — known: {', '.join(known)}")
        for name, f in known.items():
            given = values[name] if name in values else os.environ.get(f"GRADE_{name.upper()}", f.default)
            setattr(self, name, _checked(f, given))

    @classmethod
    def names(cls) -> frozenset[str]:
        return frozenset(f.name for f in dataclasses.fields(cls))

    @classmethod
    def default(cls, name: str) -> Any:
        return {f.name: f.default for f in dataclasses.fields(cls)}[name]

    def model_copy(self, *, update: dict[str, Any] | None = None) -> Settings:
        """A copy with some fields changed, each checked as a new value is."""
        return Settings(**{**self.model_dump(), **(update or {})})

    def model_dump(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def rlimits(self) -> dict[str, int]:
        return {
            "nofile": self.nofile,
            "fsize": self.fsize_mb << 20,
            "core": 0,
        }


def _checked(f: dataclasses.Field[Any], value: Any) -> Any:
    """`value` as the field's type, within its bounds, or GraderError naming the flag and the variable."""
    try:
        converted = _converted(str(f.type), value)
    except (TypeError, ValueError):
        raise _invalid(f.name, f"{value!r} is not a valid {str(f.type).split(' |')[0]}") from None
    if converted is not None and not isinstance(converted, str):
        if (bound := f.metadata["gt"]) is not None and not converted > bound:
            raise _invalid(f.name, f"must be greater than {bound:g}")
        if (bound := f.metadata["ge"]) is not None and not converted >= bound:
            raise _invalid(f.name, f"must be at least {bound:g}")
    return converted


def _converted(kind: str, value: Any) -> Any:
    if value is None and kind.endswith("| None"):
        return None
    if isinstance(value, bool):
        raise TypeError(value)
    if kind.startswith("int"):
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(value)
        return int(value)
    if kind.startswith("float"):
        return float(value)
    if not isinstance(value, str):
        raise TypeError(value)
    return value


def _invalid(name: str, why: str) -> GraderError:
    return GraderError(
        f"invalid setting {name} ({why}) — fix the flag or the GRADE_{name.upper()} environment variable"
    )


def load(**overrides: object) -> Settings:
    """Settings from the environment and the given overrides (None means "not given"), or one clear error."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
