"""Zip files in a batch: an LMS download handed over as it came, and students who uploaded their work zipped.

Only what grading reads comes out (`.py` files, and the zips a student uploaded inside a download), into a
temporary folder that lives while the batch reads its sources. Archives are untrusted: members with absolute
paths, `..` or links are skipped, and the number and total size of members are capped, so a crafted zip
can neither write outside that folder nor fill the disk.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import time
import zipfile
from contextlib import ExitStack
from pathlib import Path, PurePosixPath

from grader.errors import SubmissionError
from grader.layouts import student_of

WANTED = (".py", ".zip")
MAX_MEMBERS = 20_000
MAX_BYTES = 256 << 20  # what comes out of one archive, all members together
SKIP = ("__MACOSX",)
TEMP_PREFIX = "grade-unzipped-"  # `grade clean` removes those a killed grader left


def is_zip(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() == ".zip"


class Unpacker:
    """Extracts zips into one temporary folder and remembers where each came from, for the reports."""

    def __init__(self, stack: ExitStack) -> None:
        self.base = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=TEMP_PREFIX)))
        self.origin: dict[Path, str] = {}  # extracted folder -> the archive it came from, as the user knows it
        self.count = 0
        self.skipped: list[str] = []  # students' zips that could not be read, and why

    def extract(self, archive: Path, *, nested: bool = False) -> Path:
        """The folder holding the archive's wanted members. A top-level archive that cannot be read is the
        user's error; a student's zip that cannot be read is skipped (the student then has no file there)."""
        self.count += 1
        dest = self.base / f"{self.count}"
        dest.mkdir()
        self.origin[dest] = self.label(archive)
        try:
            with zipfile.ZipFile(archive) as z:
                _extract(z, dest, wanted=(".py",) if nested else WANTED)
        except (zipfile.BadZipFile, OSError, ValueError, SubmissionError) as err:
            if nested:  # nothing from a zip that broke off half-way: the student has no file there
                shutil.rmtree(dest)
                dest.mkdir()
                self.skipped.append(f"{self.origin[dest]}: {err}")
                return dest
            why = err if isinstance(err, SubmissionError) else f"not a readable zip ({err})"
            raise SubmissionError(f"{archive}: {why} — unzip it yourself and pass the folder") from None
        return _single_folder(dest)

    def label(self, path: Path) -> str:
        """`path` as the user can find it: `download.zip!alice/ex1.py` for a file that came out of a zip."""
        for folder, origin in self.origin.items():
            if path.is_relative_to(folder):
                rel = path.relative_to(folder).as_posix()
                return f"{origin}!{rel}" if rel != "." else origin
        return str(path)


def _extract(z: zipfile.ZipFile, dest: Path, *, wanted: tuple[str, ...]) -> None:
    members = z.infolist()
    if len(members) > MAX_MEMBERS:
        raise SubmissionError(f"{len(members)} members, more than the {MAX_MEMBERS} a download can hold")
    total = 0
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
        total += info.file_size
        if total > MAX_BYTES:
            raise SubmissionError(f"more than {MAX_BYTES >> 20} MiB of files inside")
        target = dest.joinpath(*name.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        with z.open(info) as src, open(target, "wb") as out:
            # the header's size can lie: count what really comes out
            written = 0
            while chunk := src.read(1 << 16):
                written += len(chunk)
                if total - info.file_size + written > MAX_BYTES:
                    raise SubmissionError(f"more than {MAX_BYTES >> 20} MiB of files inside")
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
