"""Every limit and default in one place: overridable by GRADE_* environment variables and CLI flags."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Defaults for production runs; tests pass shorter limits through the same model."""

    model_config = SettingsConfigDict(env_prefix="GRADE_", extra="ignore")

    image: str | None = Field(None, description="runtime image tag; default: derived from the image sources")
    timeout_s: float = Field(10.0, gt=0, description="wall-clock limit, from the submission's first exec")
    grace_s: float = Field(0.5, ge=0, description="how long processes may outlive main before they are killed")
    pids: int = Field(64, ge=8, description="processes and threads in the container")
    memory_mb: int = Field(256, ge=32, description="memory, swap included")
    cpus: float = Field(1.0, gt=0, description="CPU quota")
    output_bytes: int = Field(1 << 20, ge=1024, description="stdout and stderr kept, each")
    output_stop_bytes: int = Field(8 << 20, ge=1024, description="stdout + stderr after which the run is stopped")
    trace_bytes: int = Field(32 << 20, ge=1 << 16, description="size of the trace before the run is stopped")
    tmpfs_mb: int = Field(16, ge=1, description="size of the writable /tmp")
    tmpfs_inodes: int = Field(2048, ge=64, description="files in /tmp")
    nofile: int = Field(256, ge=32, description="open files per process")
    fsize_mb: int = Field(64, ge=1, description="largest file a process may write (the trace included)")
    source_bytes: int = Field(
        256 << 10, ge=1024, description="largest submission accepted (checked before it is decoded or compiled)"
    )
    start_margin_s: float = Field(15.0, gt=0, description="time for the container itself before it is killed")
    sandbox: str = Field("auto", description="docker, none, or auto")
    start_method: str | None = Field(None, description="multiprocessing start method to force, for tests")

    def rlimits(self) -> dict[str, int]:
        return {
            "nofile": self.nofile,
            "fsize": self.fsize_mb << 20,
            "core": 0,
        }


def load(**overrides: object) -> Settings:
    """Settings from the environment and the given overrides (None means "not given"), or one clear error."""
    from pydantic import ValidationError

    from grader.errors import GraderError

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    except ValidationError as err:
        first = err.errors()[0]
        name = ".".join(str(part) for part in first["loc"])
        raise GraderError(
            f"invalid setting {name} ({first['msg']}) — fix the flag or the GRADE_{name.upper()} environment variable"
        ) from None
