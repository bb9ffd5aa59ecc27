"""LMS downloads and student uploads as zips: read like the folders they hold, and safe against crafted ones."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

import grader.archives
from grader.batch import discover
from grader.catalog import registry, resolve
from grader.errors import SubmissionError

from .class_factory import make_class

EXERCISES = list(registry().values())


def _zip(folder: Path, archive: Path, *, prefix: str = "") -> Path:
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                z.write(path, prefix + path.relative_to(folder).as_posix())
    return archive


def _table(cells: list) -> dict:  # type: ignore[type-arg]
    return {(c.student, c.exercise.id): (c.sha256, c.found.rule if c.found else None) for c in cells}


@pytest.mark.parametrize("prefix", ["", "submissions/"], ids=["flat", "one-folder"])
def test_a_download_zip_reads_as_its_folder(tmp_path: Path, prefix: str) -> None:
    make_class(tmp_path / "class")
    archive = _zip(tmp_path / "class", tmp_path / "download.zip", prefix=prefix)
    from_folder = discover(tmp_path / "class", EXERCISES)
    from_zip = discover(archive, EXERCISES)
    assert _table(from_zip) == _table(from_folder) and len(from_zip) >= 60
    shown = [c.found.label for c in from_zip if c.found]
    assert all(s.startswith(f"{archive}!{prefix}student_") for s in shown), shown[:3]
    assert not any(Path(c.found.path).exists() for c in from_zip if c.found)  # the copies are gone


def test_a_students_uploaded_zip_is_searched(tmp_path: Path) -> None:
    course = tmp_path / "work" / "course" / "exercises" / "ex1_fork"
    course.mkdir(parents=True)
    (course / "solution.py").write_text("print('zipped')\n")
    root = tmp_path / "class"
    (root / "alice").mkdir(parents=True)
    _zip(tmp_path / "work", root / "alice" / "my-course.zip")
    # a download without folders: the uploaded zip carries the student's name
    _zip(tmp_path / "work", root / "Bob Ross_77_assignsubmission_file_course.zip")
    cells = {(c.student, c.exercise.id): c for c in discover(root, [resolve("ex1"), resolve("ex2")])}
    for student in ("alice", "Bob Ross"):
        cell = cells[(student, "ex1_fork")]
        assert cell.source == b"print('zipped')\n" and cell.found is not None and cell.found.rule == "course"
        assert cell.found.label.endswith(".zip!course/exercises/ex1_fork/solution.py"), cell.found.label
        assert "(in " in cell.found.detail
        assert cells[(student, "ex2_process")].found is None


def test_crafted_members_never_leave_the_folder(tmp_path: Path) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("alice/ex1.py", "print('ok')\n")
        z.writestr("../escaped_ex1.py", "print('out')\n")
        z.writestr("/tmp/absolute_ex1.py", "print('abs')\n")
        z.writestr("alice/..\\..\\backslash_ex1.py", "print('bs')\n")
        link = zipfile.ZipInfo("alice/ex2.py")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(link, "/etc/shadow")
        z.writestr("__MACOSX/alice/._ex1.py", "junk")
    cells = {(c.student, c.exercise.id): c for c in discover(archive, [resolve("ex1"), resolve("ex2")])}
    assert set(cells) == {("alice", "ex1_fork"), ("alice", "ex2_process")}
    assert cells[("alice", "ex1_fork")].source == b"print('ok')\n"
    assert cells[("alice", "ex2_process")].found is None  # the link was not followed, nor kept
    assert not (tmp_path / "escaped_ex1.py").exists() and not Path("/tmp/absolute_ex1.py").exists()
    assert not list(tmp_path.parent.glob("backslash_ex1.py"))


def test_too_much_inside_is_refused_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(grader.archives, "MAX_BYTES", 1000)
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("alice/ex3.py", "print(3)\n")  # comes out before the cap is hit
        z.writestr("alice/ex1.py", "#" * 5000)  # deflates to a few bytes
    with pytest.raises(SubmissionError, match="MiB of files inside — unzip it yourself"):
        discover(archive, EXERCISES)
    # inside a student's folder the same zip is skipped: that student simply has no file there
    (tmp_path / "class" / "bob").mkdir(parents=True)
    archive.rename(tmp_path / "class" / "bob" / "work.zip")
    (tmp_path / "class" / "bob" / "ex2.py").write_text("print(2)\n")
    chosen = [resolve("ex1"), resolve("ex2"), resolve("ex3")]
    notes: list[str] = []
    cells = {(c.student, c.exercise.id): c for c in discover(tmp_path / "class", chosen, notes=notes)}
    assert len(notes) == 1 and "work.zip" in notes[0] and "MiB of files inside" in notes[0], notes  # said, not hidden
    assert cells[("bob", "ex2_process")].found is not None
    # nothing of the broken zip is graded, not even what came out before the cap
    assert cells[("bob", "ex1_fork")].found is None and cells[("bob", "ex3_pool")].found is None


def test_a_corrupt_download_is_one_clear_line(tmp_path: Path) -> None:
    archive = tmp_path / "download.zip"
    archive.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(SubmissionError, match=r"not a readable zip .* — unzip it yourself and pass the folder"):
        discover(archive, EXERCISES)


def _bomb(path: Path, member: str, size: int) -> Path:
    """A zip of one file of `size` zero bytes: a few hundred KB on disk."""
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z,
        z.open(member, "w", force_zip64=True) as out,
    ):
        block = bytes(1 << 20)
        for _ in range(size >> 20):
            out.write(block)
    return path


def _unzipped(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts every byte read out of any zip member: what extraction wrote, whatever code did it."""
    seen = [0]
    read = zipfile.ZipExtFile.read

    def counting(self: zipfile.ZipExtFile, n: int = -1) -> bytes:
        data = read(self, n)
        seen[0] += len(data)
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counting)
    return seen


def test_many_small_bombs_of_one_student_share_one_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Four 240 MiB bombs of a few hundred KB each, every one under the per-archive cap: they once wrote 975 MiB
    to the temporary folder. Now the student's zips share one budget, and the batch has its own."""
    bomb = _bomb(tmp_path / "bomb.zip", "ex1.py", 240 << 20)
    assert bomb.stat().st_size < 1 << 20
    folder = tmp_path / "class" / "mallory"
    folder.mkdir(parents=True)
    for i in range(4):
        (folder / f"part{i}.zip").write_bytes(bomb.read_bytes())
    (tmp_path / "class" / "alice").mkdir()
    (tmp_path / "class" / "alice" / "ex1.py").write_text("print(1)\n")
    seen = _unzipped(monkeypatch)
    notes: list[str] = []
    cells = {(c.student, c.exercise.id): c for c in discover(tmp_path / "class", [resolve("ex1")], notes=notes)}
    assert seen[0] <= grader.archives.STUDENT_BYTES + (1 << 16), seen[0] >> 20  # one student's budget at most
    assert len(notes) == 4 and all("in one student's zips together" in n for n in notes), notes
    assert cells[("mallory", "ex1_fork")].found is None and cells[("alice", "ex1_fork")].found is not None


def test_the_batch_has_one_budget_for_every_student(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(grader.archives, "BATCH_BYTES", 20 << 20)
    bomb = _bomb(tmp_path / "bomb.zip", "ex1.py", 8 << 20)  # each student's is under their own budget
    for name in ("s1", "s2", "s3", "s4"):
        (tmp_path / "class" / name).mkdir(parents=True)
        (tmp_path / "class" / name / "work.zip").write_bytes(bomb.read_bytes())
    seen = _unzipped(monkeypatch)
    notes: list[str] = []
    cells = discover(tmp_path / "class", [resolve("ex1")], notes=notes)
    assert seen[0] <= (20 << 20) + (1 << 16)
    assert [c.student for c in cells if c.found] == ["s1", "s2"]
    assert len(notes) == 2 and all("unzipped in one batch" in n for n in notes), notes
