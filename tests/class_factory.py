"""A generated class: students handing in correct, wrong, hostile or no files, in every layout batch reads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader.catalog import Exercise, registry

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "exercises"

# Hostile programs that end the same way every time, so a batch cell can be compared with a lone run.
HOSTILE = {
    "spin": "while True:\n    pass\n",  # timeout
    # output limit: error. Written 64 KiB at a time, so that the 8 MiB limit comes long before the time limit even
    # on a machine busy with a whole class (4 KiB lines let a loaded run reach its time limit first, a `timeout`)
    "flood": "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n",
    "syntax": "def broken(:\n    pass\n",  # failed before any container
    "orphan": "import os, time\nif os.fork() == 0:\n    time.sleep(60)\nprint('bye')\n",  # leftover killed
    "forkbomb": (
        "import os, time\nfor _ in range(200):\n    try:\n        if os.fork() == 0:\n            time.sleep(1)\n"
        "            os._exit(0)\n    except OSError:\n        pass\nprint('done')\n"
    ),
}
LAYOUTS = ("course", "flat_num", "flat_id", "moodle", "moodle_folder", "canvas", "canvas_late")
# One row per student, one letter per exercise (in course order): c correct, w wrong, h hostile, - missing.
PLAN = [
    "ccccc",
    "wwwww",
    "cwcwc",
    "wcwcw",
    "chccc",
    "ccwcc",
    "c-c-c",
    "-ccwc",
    "cccwh",
    "wcccc",
    "cchcw",
    "c-wch",
    "hcccc",
]


@dataclass(frozen=True)
class Planned:
    student: str
    exercise: str
    kind: str  # correct | wrong | hostile:<name> | missing
    path: Path | None
    rule: str | None  # the layout rule batch must report


def _sources(ex: Exercise) -> dict[str, list[Path]]:
    folder = SUBMISSIONS / ex.id
    return {
        "c": [ROOT / "solutions" / f"{ex.id}.py", *sorted(folder.glob("pass__*.py"))],
        "w": sorted(folder.glob("fail__*.py")) or [ROOT / ex.folder / "solution.py"],
    }


def _place(root: Path, student: str, i: int, ex: Exercise, layout: str) -> tuple[Path, str]:
    base = root / student
    login, uid, sid = student.replace("_", ""), 1000 + i, 5000 + i * 10 + ex.number
    where = {
        "course": (base / "course" / "exercises" / ex.id / "solution.py", "course"),
        "flat_num": (base / f"ex{ex.number}.py", "flat"),
        "flat_id": (base / f"{ex.id}.py", "flat"),
        "moodle": (base / f"{student.title()} X_{uid}_assignsubmission_file_{ex.id}.py", "moodle"),
        "moodle_folder": (base / f"{student.title()} X_{uid}_assignsubmission_file_" / f"ex{ex.number}.py", "moodle"),
        "canvas": (base / f"{login}_{uid}_{sid}_ex{ex.number}.py", "canvas"),
        "canvas_late": (base / f"{login}_LATE_{uid}_{sid}_{ex.id}-1.py", "canvas"),
    }
    return where[layout]


def make_class(root: Path, exercises: list[Exercise] | None = None) -> dict[tuple[str, str], Planned]:
    """Write the class under `root` (one folder per student); returns what each cell holds."""
    exercises = exercises or list(registry().values())
    hostile = list(HOSTILE)
    planned: dict[tuple[str, str], Planned] = {}
    n = 0
    for i, row in enumerate(PLAN):
        student = f"student_{i:02d}"
        (root / student).mkdir(parents=True, exist_ok=True)
        for j, ex in enumerate(exercises):
            kind = row[j % len(row)]
            if kind == "-":
                planned[(student, ex.id)] = Planned(student, ex.id, "missing", None, None)
                continue
            path, rule = _place(root, student, i, ex, LAYOUTS[(i + j) % len(LAYOUTS)])
            path.parent.mkdir(parents=True, exist_ok=True)
            if kind == "h":
                name = hostile[n % len(hostile)]
                n += 1
                path.write_text(HOSTILE[name])
                label = f"hostile:{name}"
            else:
                choices = _sources(ex)[kind]
                path.write_bytes(choices[(i + j) % len(choices)].read_bytes())
                label = "correct" if kind == "c" else "wrong"
            if rule == "canvas" and "LATE" in path.name:
                # an older Canvas attempt beside the resubmission: batch must take the -1 copy
                (path.parent / path.name.replace("-1.py", ".py")).write_text(HOSTILE["syntax"])
            planned[(student, ex.id)] = Planned(student, ex.id, label, path, rule)
    return planned
