"""The result of grading one submission: a versioned JSON contract (schema_version 1)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from grader.tree import Tree

Status = Literal["passed", "failed", "error", "timeout"]
Fault = Literal["grader"]
SCHEMA_VERSION = 1


class CheckResult(BaseModel):
    id: str = Field(description="stable identifier of the check within its exercise")
    title: str = Field(description="what the check asks, in a few words")
    passed: bool
    score: float
    max_score: float
    message: str = Field(description="what was observed against what was expected, with the real PIDs")
    race: bool = Field(
        False,
        description="failed in a way the exercise's own race can explain (the course program's timing on a busy "
        "machine): such a run is graded again",
    )


class Report(BaseModel):
    """One submission's verdict. `status` is passed (full marks), failed, error (the run could not be
    judged: a limit or a broken trace, never full marks) or timeout (the time limit was reached)."""

    schema_version: int = SCHEMA_VERSION
    grader_version: str
    exercise: str
    status: Status
    score: float
    max_score: float
    checks: list[CheckResult]
    reason: str | None = Field(
        None, description="why the status is what it is, when it is not passed/failed by checks alone"
    )
    fault: Fault | None = Field(
        None,
        description="'grader' when the grader or its host could not judge the run (an `error` that is not the "
        "student's: the tracer, the engine, the image, the DNS server, a check that raised); None otherwise",
    )
    output: str = Field("", description="the submission's stdout, capped")
    output_truncated: bool = False
    stderr: str = ""
    stderr_truncated: bool = False
    duration_s: float = Field(description="wall time of the submission inside the sandbox")
    submission: str | None = None
    sha256: str | None = None
    sandbox: str = "docker"
    runs: int = Field(
        1,
        description="how many times the program ran: a run that failed only in a way the exercise's own race can "
        "explain is run again (at most 3 runs); the report is the last run's",
    )
    tree: Tree | None = Field(None, description="the process tree the checks saw")

    @model_validator(mode="after")
    def _adds_up(self) -> Report:
        # every format shows the checks' points above the total: they must agree, whatever the status
        checks = round(sum(c.score for c in self.checks), 2)
        if abs(checks - self.score) > 0.005:
            raise ValueError(f"score {self.score:g} is not the sum of the checks' scores ({checks:g})")
        if self.fault is not None and self.status != "error":
            raise ValueError(f"a fault is recorded only on an error, not on {self.status!r}")
        return self

    @property
    def full_marks(self) -> bool:
        return self.status == "passed"
