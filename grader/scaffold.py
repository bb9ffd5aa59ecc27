"""`grade new` and `grade release`: start an exercise that already verifies, and hand students their copy.

The scaffold is a small working exercise (fork one child that prints its real PID, reap it): its reference,
stub, one pass__ and one fail__ example verify green as generated, so an author edits something that works.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from grader.errors import GraderError

ID = re.compile(r"^[a-z][a-z0-9_]*$")

MANIFEST = """\
# An exercise pack: exercises/<id>/ per exercise, references in ../solutions/ (never shipped). AUTHORING.md.
name = "{name}"
version = "0.1"
"""

PYPROJECT = """\
# Makes the pack installable (pip install PATH): its exercises/ ships as the package grade_pack_{name}, found
# through the grade.packs entry point; solutions/ is not part of it and never ships.
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "grade-pack-{name}"
version = "0.1"
description = "Exercises for the grade autograder"

[project.entry-points."grade.packs"]
{name} = "grade_pack_{name}"

[tool.setuptools]
package-dir = {{ "grade_pack_{name}" = "exercises" }}
packages = ["grade_pack_{name}"]

[tool.setuptools.package-data]
"grade_pack_{name}" = ["pack.toml", "*/exercise.toml", "*/README.md", "*/*.py"]
"""

SPEC = """\
# {id}: what the exercise asks, and the checks that decide it (AUTHORING.md, "exercise.toml").
number = {number}
name = "{name}"
title = "Fork one child that prints its PID"

# A ready check of the library, built with its `with` arguments.
[[checks]]
id = "one_child"
title = "main forks exactly one child"
points = 2
use = "process_count"
with = {{ expected = 1 }}

# A check of this exercise's checks.py: the function named like the check's id.
[[checks]]
id = "child_line"
title = "the child prints its real PID and its parent's"
points = 2

[[checks]]
id = "reaped"
title = "the parent waits for the child"
points = 1
use = "children_reaped"

# tidy: credited only once the program created a process, so the untouched stub scores 0.
[[checks]]
id = "main_exit"
title = "main exits with status 0"
points = 1
use = "exit_status"
tidy = true
"""

CHECKS = '''\
"""{id}: the checks the library does not have. Each takes the observed Run and returns ok(...) or fail(...)."""

from __future__ import annotations

from grader.api import Pattern, Run, Verdict, fail, printed

CHILD = Pattern("Child <pid> of <ppid>")


def child_line(run: Run) -> Verdict:
    main, kids = run.main, run.children()
    if main is None:
        return fail("the program never started")
    if len(kids) != 1:
        return fail(f"expected one child to print {{str(CHILD)!r}}; main created {{len(kids)}}")
    child = kids[0]
    real = {{"pid": (child.pid, "its real PID"), "ppid": (main.pid, "its parent's real PID")}}
    return printed(run, CHILD, child, real, who="child")
'''

README = """\
# {id}: fork one child

Fork one child process with `os.fork()`. The child prints `Child <pid> of <ppid>` with its own PID and its
parent's, then exits; the parent waits for it with `os.waitpid()` and exits with status 0.
"""

STUB = """\
# {id}: fork one child that prints its PID and its parent's; wait for it. Write your solution here.
import os
"""

REFERENCE = """\
import os

pid = os.fork()
if pid == 0:
    print(f"Child {os.getpid()} of {os.getppid()}", flush=True)
    os._exit(0)
os.waitpid(pid, 0)
"""

PASS = """\
import os

if os.fork() == 0:
    print("Child %d of %d" % (os.getpid(), os.getppid()), flush=True)
    os._exit(0)
os.wait()
"""

FAIL = """\
# two children where one is asked for
import os

for _ in range(2):
    if os.fork() == 0:
        print(f"Child {os.getpid()} of {os.getppid()}", flush=True)
        os._exit(0)
os.wait()
os.wait()
"""


def _number(exercise_id: str, root: Path) -> int:
    """ex42_demo -> 42; otherwise one past the highest number the pack uses."""
    if m := re.match(r"^ex(\d+)_", exercise_id):
        return int(m.group(1))
    used = [
        int(n) for p in root.glob("*/exercise.toml") for n in re.findall(r"^number\s*=\s*(\d+)", p.read_text(), re.M)
    ]
    return max(used, default=0) + 1


def new_exercise(exercise_id: str, pack: Path) -> list[Path]:
    """Scaffold exercise `exercise_id` in the pack at `pack` (made, with its pack.toml, when missing)."""
    if not ID.match(exercise_id):
        raise GraderError(f"{exercise_id!r} is not an exercise id — use lowercase letters, digits and _ (ex6_demo)")
    exercises = pack / "exercises"
    home = exercises / exercise_id
    if home.exists():
        raise GraderError(f"{home} already exists — pick another id, or remove that folder")
    made: list[Path] = []
    if not (exercises / "pack.toml").is_file():
        name = re.sub(r"[^a-z0-9_]", "_", pack.resolve().name.lower()).strip("_") or "course"
        name = name if name[0].isalpha() else f"p{name}"
        made.append(_write(exercises / "pack.toml", MANIFEST.format(name=name)))
        if not (pack / "pyproject.toml").exists():
            made.append(_write(pack / "pyproject.toml", PYPROJECT.format(name=name)))
    name = re.sub(r"^ex\d+_", "", exercise_id) or exercise_id
    files = {
        "exercise.toml": SPEC.format(id=exercise_id, number=_number(exercise_id, exercises), name=name),
        "checks.py": CHECKS.format(id=exercise_id),
        "README.md": README.format(id=exercise_id),
        "solution.py": STUB.format(id=exercise_id),
        "pass__os_wait.py": PASS,
        "fail__one_child__two_children.py": FAIL,
    }
    made += [_write(home / n, text) for n, text in files.items()]
    made.append(_write(pack / "solutions" / f"{exercise_id}.py", REFERENCE))
    return made


def _write(path: Path, text: str) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise GraderError(f"cannot write {path}: {err.strerror} — pick another --pack folder") from None
    return path


STUDENT_FILES = ("README.md", "solution.py")


def release(homes: list[tuple[str, Path]], out: Path) -> list[Path]:
    """The student-facing tree in `out`: exercises/<id>/README.md and solution.py for each exercise, nothing
    else (no checks, no examples, no references)."""
    if (out / "exercises").exists() and any((out / "exercises").iterdir()):
        raise GraderError(f"{out / 'exercises'} is not empty — pass an empty --out folder")
    written = []
    for exercise_id, home in homes:
        for name in STUDENT_FILES:
            if (home / name).is_file():
                dest = out / "exercises" / exercise_id / name
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(home / name, dest)
                written.append(dest)
    return written
