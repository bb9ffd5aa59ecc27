"""Which file in a student's folder is which exercise, and which naming rule said so."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from grader.catalog import Exercise

# Moodle's "download all submissions": `<Full Name>_<participant>_assignsubmission_file_<original name>`,
# either as the file name or as a per-student folder name (the original name then lives inside it).
MOODLE = re.compile(r"^(?P<who>.+?)_(?P<num>\d+)_assignsubmission_(?:file|onlinetext)_(?P<rest>.*)$")
# Canvas: `<sortablename>[_LATE]_<user id>_<submission id>_<original name>`; a resubmission gets `-N`.
CANVAS = re.compile(r"^(?P<who>[a-z0-9]+)(?P<late>_LATE)?_(?P<user>\d+)_(?P<sub>\d+)_(?P<rest>.+)$")
EXNAME = re.compile(r"^ex0*(?P<num>\d+)(?:[_\- ](?P<name>[a-z][a-z0-9_]*?))?(?:-(?P<copy>\d+))?$", re.I)
SKIP_DIRS = {"__pycache__", ".git", "venv", ".venv", "node_modules", "solutions"}
# When one exercise has several candidate files, the more explicit layout wins.
PRIORITY = {"course": 0, "flat": 1, "moodle": 2, "canvas": 3}


@dataclass(frozen=True)
class Found:
    path: Path
    rule: str  # course | flat | moodle | canvas
    detail: str  # human words: why this file is this exercise
    copy: int = 0  # Canvas resubmission number: the highest is the latest
    shown: str = ""  # where the user finds it, when `path` is a copy taken out of a zip

    @property
    def label(self) -> str:
        return self.shown or str(self.path)


def _by_stem(stem: str, exercises: dict[int, Exercise]) -> Exercise | None:
    """ex3, ex03, ex3_<name>, ex3-<name>-1 -> ex3; a wrong name after the number does not match."""
    m = EXNAME.match(stem)
    if m is None:
        return None
    ex = exercises.get(int(m.group("num")))
    if ex is None:
        return None
    name = (m.group("name") or "").lower()
    return ex if name in ("", ex.name, "solution") else None


def classify(path: Path, root: Path, exercises: Iterable[Exercise]) -> tuple[Exercise, Found] | None:
    """The exercise a file is for, by its place (course layout) or its name (flat, Moodle, Canvas)."""
    if path.suffix != ".py":
        return None
    by_num = {e.number: e for e in exercises}
    by_id = {e.id: e for e in by_num.values()}
    rel = path.relative_to(root)
    parts = rel.parts
    if path.name == "solution.py" and len(parts) >= 3 and parts[-3] == "exercises" and parts[-2] in by_id:
        return by_id[parts[-2]], Found(path, "course", f"course layout {rel.as_posix()}")
    stem = path.stem
    if (m := MOODLE.match(stem)) and m.group("rest") and (ex := _by_stem(m.group("rest"), by_num)):
        return ex, Found(path, "moodle", f"Moodle download name {path.name} (file {m.group('rest')}.py)")
    if (m := CANVAS.match(stem)) and (ex := _by_stem(m.group("rest"), by_num)):
        copy = EXNAME.match(m.group("rest"))
        late = " (late)" if m.group("late") else ""
        return ex, Found(
            path,
            "canvas",
            f"Canvas download name {path.name}{late}",
            copy=int(copy.group("copy") or 0) if copy else 0,
        )
    if ex := _by_stem(stem, by_num):
        where = next((p for p in parts[:-1] if MOODLE.match(p)), None)
        rule = "moodle" if where else "flat"
        what = f"in Moodle folder {where}" if where else f"flat file {rel.as_posix()}"
        return ex, Found(path, rule, f"{what} named like {ex.id}")
    return None


def _python_files(folder: Path) -> list[Path]:
    """The regular .py files in a student's folder. Links are not theirs (rglob descends into no linked
    folder): a cloned repository can hold `ex1.py -> <the reference solution>`, graded once as the student's."""
    found = []
    for path in sorted(folder.rglob("*.py")):
        rel = path.relative_to(folder).parts
        if any(p in SKIP_DIRS or p.startswith(".") for p in rel[:-1]) or path.is_symlink() or not path.is_file():
            continue
        found.append(path)
    return found


def find(places: Iterable[Path], exercises: Iterable[Exercise]) -> dict[str, tuple[Found, list[Found]]]:
    """exercise id -> (the file graded, the other candidates it was preferred to). A place is a student's
    folder (searched recursively) or one file of a download without folders."""
    exercises = list(exercises)
    candidates: dict[str, list[Found]] = {}
    for place in places:
        files = _python_files(place) if place.is_dir() else [place]
        for path in files:
            hit = classify(path, place if place.is_dir() else place.parent, exercises)
            if hit is not None:
                candidates.setdefault(hit[0].id, []).append(hit[1])
    chosen = {}
    for ex_id, found in candidates.items():
        # explicit layout first, then the latest Canvas resubmission, then the newest file
        found.sort(key=lambda f: (PRIORITY[f.rule], -f.copy, -f.path.stat().st_mtime, str(f.path)))
        chosen[ex_id] = (found[0], found[1:])
    return chosen


def printable(name: str) -> str:
    """A file or folder name as text every sink can take (SQLite, JSON, a terminal), stable and reversible.

    A name that is not UTF-8 (what `unzip` leaves for an LMS zip made in another encoding) reaches Python
    with its undecodable bytes as lone surrogates, which SQLite and JSON refuse: those bytes are written
    `\\xNN`, and a backslash already in the name is doubled, so two different names never meet."""
    raw = name.replace("\\", "\\\\").encode("utf-8", "surrogateescape")
    return raw.decode("utf-8", "backslashreplace")


def student_of(name: str) -> str | None:
    """The student a top-level Moodle or Canvas download file belongs to (downloads without folders)."""
    stem = Path(name).stem
    if m := MOODLE.match(stem):
        return m.group("who")
    if m := CANVAS.match(stem):
        return m.group("who")
    return None
