"""Which file is which exercise: the course layout, flat names, Moodle and Canvas download names."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from grader.batch import discover, students
from grader.catalog import registry, resolve
from grader.errors import GraderError
from grader.layouts import classify, find

from .class_factory import make_class

EXERCISES = list(registry().values())


@pytest.mark.parametrize(
    ("name", "exercise", "rule"),
    [
        ("course/exercises/ex1_fork/solution.py", "ex1_fork", "course"),
        ("exercises/ex1_fork/solution.py", "ex1_fork", "course"),
        ("ex1.py", "ex1_fork", "flat"),
        ("ex01.py", "ex1_fork", "flat"),
        ("ex1_fork.py", "ex1_fork", "flat"),
        ("EX1-fork.py", "ex1_fork", "flat"),
        ("Jane Doe_12345_assignsubmission_file_ex1_fork.py", "ex1_fork", "moodle"),
        ("Jane Doe_12345_assignsubmission_file_/ex1.py", "ex1_fork", "moodle"),
        ("doejane_12345_67890_ex1.py", "ex1_fork", "canvas"),
        ("doejane_LATE_12345_67890_ex1_fork-1.py", "ex1_fork", "canvas"),
    ],
)
def test_each_naming_rule(tmp_path: Path, name: str, exercise: str, rule: str) -> None:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("print(1)\n")
    hit = classify(path, tmp_path, EXERCISES)
    assert hit is not None
    assert (hit[0].id, hit[1].rule) == (exercise, rule)
    assert hit[1].detail  # says which rule matched, in words


@pytest.mark.parametrize(
    "name", ["ex1_pool.py", "solution.py", "ex99.py", "notes.txt", "exercises/ex9_nope/solution.py", "helper.py"]
)
def test_names_that_are_no_exercise(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("print(1)\n")
    assert classify(path, tmp_path, EXERCISES) is None


def test_explicit_layout_wins_and_latest_canvas_copy_wins(tmp_path: Path) -> None:
    for name in ["exercises/ex1_fork/solution.py", "ex1.py", "doe_1_2_ex2.py", "doe_1_2_ex2-1.py", "doe_1_2_ex2-2.py"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("print(1)\n")
    chosen = find([tmp_path], EXERCISES)
    best, rest = chosen["ex1_fork"]
    assert (best.rule, [r.rule for r in rest]) == ("course", ["flat"])
    assert chosen["ex2_process"][0].path.name == "doe_1_2_ex2-2.py"


def test_hidden_and_cache_folders_are_ignored(tmp_path: Path) -> None:
    for name in [".git/ex1.py", "__pycache__/ex1.py", "venv/ex1.py"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("print(1)\n")
    assert find([tmp_path], EXERCISES) == {}


def test_top_level_download_files_are_grouped_by_student(tmp_path: Path) -> None:
    (tmp_path / "Jane Doe_12_assignsubmission_file_ex1.py").write_text("print(1)\n")
    (tmp_path / "doejohn_34_56_ex1.py").write_text("print(2)\n")
    (tmp_path / "doejohn_34_56_ex2.py").write_text("print(3)\n")
    (tmp_path / "alice").mkdir()
    assert sorted(students(tmp_path)) == ["Jane Doe", "alice", "doejohn"]
    cells = {(c.student, c.exercise.id): c for c in discover(tmp_path, [resolve("ex1"), resolve("ex2")])}
    assert cells[("doejohn", "ex2_process")].source == b"print(3)\n"
    assert cells[("Jane Doe", "ex1_fork")].found is not None
    assert cells[("alice", "ex1_fork")].found is None and cells[("Jane Doe", "ex2_process")].found is None


def test_not_a_class_folder(tmp_path: Path) -> None:
    with pytest.raises(GraderError, match="not a folder"):
        students(tmp_path / "nope")
    with pytest.raises(GraderError, match="no student folders"):
        students(tmp_path)


def test_the_generated_class_is_read_as_planned(tmp_path: Path) -> None:
    planned = make_class(tmp_path)
    assert len({s for s, _ in planned}) >= 12
    assert {p.rule for p in planned.values()} >= {"course", "flat", "moodle", "canvas"}
    kinds = {p.kind.split(":")[0] for p in planned.values()}
    assert kinds == {"correct", "wrong", "hostile", "missing"}
    cells = discover(tmp_path, EXERCISES)
    assert len(cells) == len(planned)
    for cell in cells:
        want = planned[(cell.student, cell.exercise.id)]
        if want.path is None:
            assert cell.found is None, cell
        else:
            assert cell.found is not None and cell.found.path == want.path and cell.found.rule == want.rule, cell
            assert cell.source == want.path.read_bytes() and len(cell.sha256) == 64
    assert os.path.isdir(tmp_path / "student_00")


def test_batch_says_what_it_found_by_rule(tmp_path: Path) -> None:
    from collections import Counter

    from grader.commands.batch import RULE_WORDS, describe_found

    planned = make_class(tmp_path)
    text = describe_found(discover(tmp_path, EXERCISES))
    students = len({s for s, _ in planned})
    assert text.startswith(f"found {students} students, {len(planned)} cells: ")
    for rule, n in Counter(p.rule for p in planned.values() if p.rule).items():
        assert f"{n} by {RULE_WORDS[rule]}" in text, (rule, n, text)
    assert f"{sum(p.path is None for p in planned.values())} missing" in text
    assert "passed over" in text  # the class holds older Canvas attempts beside their resubmissions
