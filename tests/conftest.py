"""Shared fixtures: a real Docker sandbox with short limits, and a helper that grades a file."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from grader.catalog import resolve
from grader.grading import grade
from grader.report import Report
from grader.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
# The seed pack is found as an author's folder is (GRADE_PACKS), so a checkout runs its own exercises uninstalled;
# an editable install finds the same folder through its entry point too, and one folder is one pack.
os.environ.setdefault("GRADE_PACKS", str(ROOT))
# Each exercise's must-pass and must-fail examples sit in its folder of the seed pack.
SUBMISSIONS = ROOT / "exercises"


def examples(exercise: str = "*") -> list[Path]:
    """The pass__ and fail__ examples of one exercise (or of all), sorted."""
    return sorted(p for p in SUBMISSIONS.glob(f"{exercise}/*.py") if p.name.startswith(("pass__", "fail__")))


GradeFile = Callable[..., Report]


@pytest.fixture(scope="session")
def settings() -> Settings:
    """Short limits so hostile cases end quickly; production defaults are longer."""
    return Settings(timeout_s=8, grace_s=0.3, start_margin_s=10)


@pytest.fixture(scope="session")
def sandbox(settings: Settings):  # type: ignore[no-untyped-def]
    """The real Docker sandbox. No engine is a failure here, never a skip."""
    from grader.sandbox.docker import DockerSandbox

    return DockerSandbox(settings)


@pytest.fixture(scope="session")
def grade_file(sandbox, settings: Settings) -> GradeFile:  # type: ignore[no-untyped-def]
    def run(exercise: str, path: Path | str, **overrides: object) -> Report:
        path = Path(path)
        return grade(
            resolve(exercise),
            path.read_bytes(),
            sandbox=sandbox,
            settings=settings.model_copy(update=overrides),
            name=path.name,
        )

    return run


def ctrl_c_as_at_a_terminal() -> None:
    """For a child the test will Ctrl-C: SIGINT's default action even where the test runs with SIGINT ignored
    (a background job of a non-interactive shell), as at a terminal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def failing(report: Report) -> list[str]:
    return [c.id for c in report.checks if not c.passed]
