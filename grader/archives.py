"""Zip files in a batch: an LMS download handed over as it came, and students who uploaded their work zipped.

Only what grading reads comes out (`.py` files, and the zips a student uploaded inside a download), into a
temporary folder that lives while the batch reads its sources. Archives are untrusted: members with absolute
paths, `..` or links are skipped, and what comes out is counted against three budgets (bytes and members):
one per archive, one per student (all their zips together) and one per batch, so neither a crafted zip nor
many small ones can write outside that folder or fill the disk.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import time
import zipfile
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from grader.errors import SubmissionError
from grader.layouts import printable, student_of

WANTED = (".py", ".zip")
MAX_MEMBERS = 20_000
MAX_BYTES = 256 << 20  # what comes out of one archive, all members together
# Four 250 KB zips once wrote 975 MiB: the per-archive cap alone does not bound a student, nor a class.
STUDENT_BYTES, STUDENT_MEMBERS = 64 << 20, 5_000  # all of one student's zips together
BATCH_BYTES, BATCH_MEMBERS = 1 << 30, 200_000  # everything one batch unzips
SKIP = ("__MACOSX",)
TEMP_PREFIX = "grade-unzipped-"  # `grade clean` removes those a killed grader left


def is_zip(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() == ".zip"


@dataclass
class Budget:
    """What may still come out of the archives charged to it, in bytes and files, spent as they are written
    (a zip refused half-way keeps what it spent: the work was done)."""

    max_bytes: int
    max_members: int
    what: str  # "inside", "in one student's zips together", …
    spent_bytes: int = 0
    spent_members: int = 0

    def member(self, size: int) -> None:
        """One more file, whose header says `size` bytes: refused before anything is written when over."""
        self.spent_members += 1
        if self.spent_members > self.max_members:
            raise SubmissionError(f"more than {self.max_members} files {self.what}")
        if self.spent_bytes + size > self.max_bytes:
            raise SubmissionError(f"more than {self.max_bytes >> 20} MiB of files {self.what}")

    def spend(self, n: int) -> None:
        self.spent_bytes += n
        if self.spent_bytes > self.max_bytes:
            raise SubmissionError(f"more than {self.max_bytes >> 20} MiB of files {self.what}")


def student_budget() -> Budget:
    return Budget(STUDENT_BYTES, STUDENT_MEMBERS, "in one student's zips together")


class Unpacker:
    """Extracts zips into one temporary folder and remembers where each came from, for the reports."""

    def __init__(self, stack: ExitStack) -> None:
        self.base = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=TEMP_PREFIX)))
        self.origin: dict[Path, str] = {}  # extracted folder -> the archive it came from, as the user knows it
        self.count = 0
        self.skipped: list[str] = []  # students' zips that could not be read, and why
        self.batch = Budget(BATCH_BYTES, BATCH_MEMBERS, "unzipped in one batch")

    def extract(self, archive: Path, *, nested: bool = False, student: Budget | None = None) -> Path:
        """The folder holding the archive's wanted members. A top-level archive that cannot be read is the
        user's error; a student's zip that cannot be read, or that would overspend the student's or the
        batch's budget, is skipped (the student then has no file there)."""
        self.count += 1
        dest = self.base / f"{self.count}"
        dest.mkdir()
        self.origin[dest] = self.label(archive)
        budgets = [Budget(MAX_BYTES, MAX_MEMBERS, "inside"), self.batch, *([student] if student else [])]
        try:
            with zipfile.ZipFile(archive) as z:
                _extract(z, dest, wanted=(".py",) if nested else WANTED, budgets=budgets)
        except (zipfile.BadZipFile, OSError, ValueError, SubmissionError) as err:
            if nested:  # nothing from a zip that broke off half-way: the student has no file there
                shutil.rmtree(dest)
                dest.mkdir()
                self.skipped.append(printable(f"{self.origin[dest]}: {err}"))
                return dest
            why = err if isinstance(err, SubmissionError) else f"not a readable zip ({err})"
            raise SubmissionError(f"{printable(str(archive))}: {why} — unzip it yourself and pass the folder") from None
        return _single_folder(dest)

    def label(self, path: Path) -> str:
        """`path` as the user can find it: `download.zip!alice/ex1.py` for a file that came out of a zip."""
        for folder, origin in self.origin.items():
            if path.is_relative_to(folder):
                rel = path.relative_to(folder).as_posix()
                return f"{origin}!{rel}" if rel != "." else origin
        return str(path)


def _extract(z: zipfile.ZipFile, dest: Path, *, wanted: tuple[str, ...], budgets: Sequence[Budget]) -> None:
    members = z.infolist()
    if len(members) > MAX_MEMBERS:
        raise SubmissionError(f"{len(members)} members, more than the {MAX_MEMBERS} a download can hold")
    for info in members:
        name = PurePosixPath(info.filename.replace("\\", "/"))
        mode = info.external_attr >> 16
        if (
            info.is_dir()
            or name.is_absolute()
            or ".." in name.parts
            or any(p in SKIP or p.startswith(".") for p in name.parts)
            or stat.S_ISLNK(mode)
            or name.suffix.lower() not in wanted
        ):
            continue
        for budget in budgets:
            budget.member(info.file_size)
        target = dest.joinpath(*name.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        with z.open(info) as src, open(target, "wb") as out:
            # the header's size can lie: count what really comes out, before it is written
            while chunk := src.read(1 << 16):
                for budget in budgets:
                    budget.spend(len(chunk))
                out.write(chunk)
        with contextlib.suppress(OverflowError, ValueError, OSError):  # a crafted date keeps the extraction time
            stamp = time.mktime((*info.date_time, 0, 0, -1))  # newest-file rules keep working on the copies
            os.utime(target, (stamp, stamp))


def _single_folder(dest: Path) -> Path:
    """A download zipped as one folder (`submissions/alice/...`) is that folder; a zip of one student's
    folder (`alice/ex1.py`, `alice/exercises/...`) is not."""
    entries = list(dest.iterdir())
    if len(entries) != 1 or not entries[0].is_dir():
        return dest
    inside = list(entries[0].iterdir())
    if any(e.name == "exercises" or (e.suffix == ".py" and student_of(e.name) is None) for e in inside):
        return dest
    return entries[0]
