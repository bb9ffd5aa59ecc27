"""The steps the CI set-ups run on their host besides `grade ci`: stage a submission into a course folder the
submission does not control, and (Gradescope) write the results.json that fails a run the grader could not do.

Run as `python -I -m grader.ci_templates.host stage SRC DEST` and `... failed CODE RESULTS [LOG]`; `-I` keeps
the current folder and PYTHON* variables off the import path, so nothing the submission holds is imported."""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from pathlib import Path

from grader.catalog import registry
from grader.layouts import find
from grader.reports.classroom import inert
from grader.reports.junit import clean

# A file larger than this is not copied (the grader refuses far smaller sources): the staging stays cheap.
COPY_CAP = 8 << 20
FAILED = (
    "The autograder could not grade this submission: {why}\n"
    "This is a fault of the grading set-up, not a score. Your instructor can see this run failed and will rerun it."
)


def _read_regular(path: Path) -> bytes | None:
    """The bytes of a regular file reached without following a link (a link could point anywhere root reads)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return None
        data = f.read(COPY_CAP + 1)
    return data if len(data) <= COPY_CAP else None


def _linked(path: Path, root: Path) -> bool:
    rel = path.relative_to(root)
    return any((root / Path(*rel.parts[: i + 1])).is_symlink() for i in range(len(rel.parts)))


def stage(src: Path, dest: Path) -> list[str]:
    """Copy each exercise's file, found under every name `grade batch` accepts (course layout, ex1.py, ex01.py,
    ex1_<name>.py, at any depth: loose files, one top folder of a zip, a course checkout), to
    DEST/exercises/<id>/solution.py. Returns one line per exercise saying what was taken from where."""
    exercises = registry()
    shutil.rmtree(dest / "exercises", ignore_errors=True)  # only what this upload holds, even in a reused folder
    (dest / "exercises").mkdir(parents=True)
    lines = []
    for ex_id, (found, _others) in sorted(find([src], exercises.values()).items()):
        data = None if _linked(found.path, src) else _read_regular(found.path)
        # printed to a CI log: one line, no control characters, no workflow command (`##[…]`)
        where = inert(repr(found.path.relative_to(src).as_posix()), 200)
        if data is None:
            lines.append(f"{ex_id}: {where} skipped (a link, not a regular file, or larger than {COPY_CAP} bytes)")
            continue
        target = dest / exercises[ex_id].folder / "solution.py"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        lines.append(f"{ex_id}: {where} ({found.rule})")
    return lines


def failed_results(code: int, log: str = "") -> dict[str, object]:
    """Gradescope's results.json for a run the grader could not do: a top-level message, no score, no tests,
    so no zero is published; the last line `grade ci` said is the reason."""
    said = [line for line in log.splitlines() if line.strip()]
    why = clean(said[-1], 500) if said else f"the grader exited with code {code}"
    return {"output": FAILED.format(why=why), "output_format": "text", "visibility": "visible", "tests": []}


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "stage":
        for line in stage(Path(argv[1]), Path(argv[2])):
            print(line)
        return 0
    if len(argv) in (3, 4) and argv[0] == "failed":
        log = Path(argv[3]).read_text("utf-8", "replace") if len(argv) == 4 and Path(argv[3]).is_file() else ""
        Path(argv[2]).write_text(json.dumps(failed_results(int(argv[1]), log), indent=2) + "\n", encoding="utf-8")
        return 0
    print("usage: python -I -m grader.ci_templates.host stage SRC DEST | failed CODE RESULTS [LOG]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
