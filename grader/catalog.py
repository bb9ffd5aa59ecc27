"""The exercises the grader knows, and how a name like `ex3`, `3` or `pool` resolves to one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader.checks import Check
from grader.errors import UnknownExercise


@dataclass(frozen=True)
class Exercise:
    id: str
    number: int
    name: str
    title: str
    checks: tuple[Check, ...]
    needs_dns: bool = False

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.checks)

    @property
    def folder(self) -> str:
        return f"exercises/{self.id}"


def registry() -> dict[str, Exercise]:
    from grader.exercises import ALL

    return {e.id: e for e in ALL}


def resolve(name: str) -> Exercise:
    key = name.strip().lower().removesuffix(".py")
    for ex in registry().values():
        if key in {ex.id, f"ex{ex.number}", str(ex.number), ex.name}:
            return ex
    known = ", ".join(f"ex{e.number} ({e.name})" for e in registry().values())
    raise UnknownExercise(f"unknown exercise {name!r} — known: {known}")


def course_root(start: Path | None = None) -> Path | None:
    """The course checkout around `start`: the nearest folder above it holding exercises/."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "exercises").is_dir():
            return folder
    return None


def statement(ex: Exercise, root: Path | None = None) -> str | None:
    for base in (root or course_root(), Path(__file__).resolve().parent.parent):
        if base is not None and (path := base / ex.folder / "README.md").is_file():
            return path.read_text(encoding="utf-8")
    return None
