"""The exercises the grader knows (from the packs it finds), and how a name like `ex3`, `3` or `pool` resolves."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from grader.errors import GraderError, UnknownExercise

if TYPE_CHECKING:  # light at run time: `grade submit` reads the catalog before the container starts
    from grader.checks import Check
    from grader.settings import Settings


@dataclass(frozen=True)
class Exercise:
    id: str
    number: int
    name: str
    title: str
    checks: tuple[Check, ...]
    needs_dns: bool = False
    stub_fails: tuple[str, ...] = ()  # checks its running stub must fail (else the stub must score 0)
    pack: str = ""
    home: Path | None = None  # the exercise's folder in its pack: statement, stub, checks, examples
    limits: dict[str, float] = field(default_factory=dict, compare=False)
    digest: str = ""  # of what decides its verdicts (exercise.toml, checks.py): part of its judge version
    module: ModuleType | None = field(default=None, compare=False, repr=False)

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.checks)

    @property
    def folder(self) -> str:
        """Where a course checkout keeps the student's copy of this exercise."""
        return f"exercises/{self.id}"

    @property
    def judge_version(self) -> str:
        """The engine's version plus this exercise's own digest: a changed check regrades this exercise only."""
        import grader

        engine = grader.judge_version()
        return f"{engine}.{self.digest}" if self.digest else engine

    def settings(self, settings: Settings) -> Settings:
        """`settings` with the limits this exercise raises (a longer timeout, more processes); never lowered."""
        return raised(settings, self.limits)


def raised(settings: Settings, limits: dict[str, float]) -> Settings:
    """`settings` with each of `limits` that is above it; never lowered."""
    higher: dict[str, Any] = {k: v for k, v in limits.items() if v > getattr(settings, k)}
    return settings.model_copy(update=higher) if higher else settings


_EXTRA: list[Path] = []


def use_packs(paths: list[Path] | tuple[Path, ...]) -> None:
    """Add pack folders (`--pack PATH`) to the ones found by installed entry points and GRADE_PACKS."""
    _EXTRA[:] = [*_EXTRA, *(p for p in paths if p not in _EXTRA)]


def extra_packs() -> tuple[Path, ...]:
    """The pack folders given with --pack."""
    return tuple(_EXTRA)


def registry() -> dict[str, Exercise]:
    """Every exercise of every pack found, in course order (number, then id)."""
    from grader.packs import exercises

    return exercises(tuple(_EXTRA))


def resolve(name: str) -> Exercise:
    key = name.strip().lower().removesuffix(".py")
    exercises = registry()
    hits = [ex for ex in exercises.values() if key in {ex.id, f"ex{ex.number}", str(ex.number), ex.name}]
    if len(hits) > 1 and (exact := [ex for ex in hits if ex.id == key]):
        hits = exact
    if len(hits) > 1:
        both = " and ".join(f"{ex.id} (pack {ex.pack})" for ex in hits)
        raise GraderError(f"{name!r} names {both} — give the exercise's full id")
    if hits:
        return hits[0]
    if not exercises:
        raise UnknownExercise(
            f"unknown exercise {name!r} — no exercise pack was found: install one, pass --pack PATH or set GRADE_PACKS"
        )
    known = ", ".join(f"ex{e.number} ({e.name})" for e in exercises.values())
    raise UnknownExercise(f"unknown exercise {name!r} — known: {known}")


def course_root(start: Path | None = None) -> Path | None:
    """The course checkout around `start`: the nearest folder above it holding exercises/."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "exercises").is_dir():
            return folder
    return None


def statement(ex: Exercise, root: Path | None = None) -> str | None:
    """The exercise's README.md: the course checkout's copy first, else the pack's."""
    here = root or course_root()
    for folder in (here / ex.folder if here else None, ex.home):
        if folder is not None and (path := folder / "README.md").is_file():
            return path.read_text(encoding="utf-8")
    return None
