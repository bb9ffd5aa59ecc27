"""Gradebook exports parse back: csv, Canvas (header rules), Moodle, json; feedback files; the CLI commands."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from grader.catalog import resolve
from grader.commands.batch import ExportFormat
from grader.report import CheckResult, Report
from grader.reports.feedback import write_all
from grader.reports.gradebook import CANVAS_FIXED, FORMATS, Book, Roster
from grader.store import Row, Store

STATUSES = {"alice": "passed", "bob": "failed", "carol": "timeout", "dave": "error", "erin": "missing"}


def _row(student: str, ex_id: str, status: str) -> Row:
    ex = resolve(ex_id)
    if status == "missing":
        return Row(student, ex.id, "", "0.1.0", "missing", 0, ex.max_score, "no file", False, None, None, None, 0, 1, 1)
    checks = [
        CheckResult(
            id=c.id,
            title=c.title,
            passed=status == "passed" or (i > 0 and status != "error"),  # an error counts no check
            score=c.points if status == "passed" or (i > 0 and status != "error") else 0,
            max_score=c.points,
            message=f"observed {c.id} `x`",
        )
        for i, c in enumerate(ex.checks)
    ]
    score = 0.0 if status == "error" else sum(c.score for c in checks)
    report = Report(
        grader_version="0.1.0",
        exercise=ex.id,
        status=status,
        score=score,
        max_score=ex.max_score,
        checks=checks,
        reason=None if status in ("passed", "failed") else f"{status}, because",
        duration_s=0.3,
        output="hello ``` world\n",
    )
    return Row(
        student,
        ex.id,
        "f" * 64,
        "0.1.0",
        status,
        score,
        ex.max_score,
        report.reason,
        status == "error",
        f"/class/{student}/ex.py",
        "flat file",
        report.model_dump_json(),
        0.3,
        1,
        1,
    )


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "grades.sqlite")
    for student, status in STATUSES.items():
        for ex in ("ex1_fork", "ex2_process"):
            s.put(_row(student, ex, status))
    return s


def test_every_format_is_exported() -> None:
    assert set(FORMATS) == {f.value for f in ExportFormat}


def test_csv(store: Store) -> None:
    rows = list(csv.DictReader(io.StringIO(FORMATS["csv"](Book.of(store.rows()), None))))
    assert list(rows[0]) == ["student", "ex1_fork", "ex2_process", "total"]
    by = {r["student"]: r for r in rows}
    assert set(by) == set(STATUSES)
    assert float(by["alice"]["total"]) == resolve("ex1").max_score + resolve("ex2").max_score
    assert float(by["erin"]["total"]) == 0 and float(by["dave"]["ex1_fork"]) == 0
    assert float(by["bob"]["ex1_fork"]) == resolve("ex1").max_score - resolve("ex1").checks[0].points


def test_canvas_header_rules(store: Store) -> None:
    lines = list(csv.reader(io.StringIO(FORMATS["canvas"](Book.of(store.rows()), None))))
    header = lines[0]
    assert header[:5] == CANVAS_FIXED == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert all(re.fullmatch(r".+ \([^()]+\)", h) for h in header[5:]) and len(header) == 7
    assert lines[1][0] == "Points Possible" and float(lines[1][5]) == resolve("ex1").max_score
    assert {line[0] for line in lines[2:]} == set(STATUSES)
    assert all(len(line) == len(header) for line in lines)


def test_canvas_with_a_canvas_gradebook_as_roster(store: Store, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "Student,ID,SIS User ID,SIS Login ID,Section,ex1 fork (4101),Exercise 2 - ex2 (4102)\n"
        "    Points Possible,,,,,10,10\n"
        '"Liddell, Alice",77,S-1,alice,Sec A,,\n'
        '"Builder, Bob",78,S-2,bob,Sec B,,\n'
    )
    lines = list(csv.DictReader(io.StringIO(FORMATS["canvas"](Book.of(store.rows()), Roster(roster)))))
    assert "ex1 fork (4101)" in lines[0] and "ex2 process (4102)" in lines[0]
    alice = next(r for r in lines if r["ID"] == "77")
    assert (alice["Student"], alice["SIS User ID"], alice["SIS Login ID"], alice["Section"]) == (
        "Liddell, Alice",
        "S-1",
        "alice",
        "Sec A",
    )
    assert any(r["Student"] == "carol" and r["ID"] == "" for r in lines)  # not on the roster: kept, by folder name


def test_moodle_has_identifier_then_score_and_feedback_per_exercise(store: Store, tmp_path: Path) -> None:
    roster = tmp_path / "r.csv"
    roster.write_text("student,email\nbob,bob@uni.example\n")
    rows = list(csv.DictReader(io.StringIO(FORMATS["moodle"](Book.of(store.rows()), Roster(roster)))))
    assert list(rows[0]) == ["identifier", "ex1_fork", "ex1_fork feedback", "ex2_process", "ex2_process feedback"]
    bob = next(r for r in rows if r["identifier"] == "bob@uni.example")
    assert bob["ex1_fork feedback"].startswith("failed") and resolve("ex1").checks[0].title in bob["ex1_fork feedback"]
    erin = next(r for r in rows if r["identifier"] == "erin")
    assert erin["ex1_fork feedback"].startswith("missing")


def test_json_has_everything(store: Store) -> None:
    doc = json.loads(FORMATS["json"](Book.of(store.rows()), None))
    assert [e["id"] for e in doc["exercises"]] == ["ex1_fork", "ex2_process"]
    dave = next(s for s in doc["students"] if s["student"] == "dave")
    cell = dave["results"]["ex1_fork"]
    assert cell["status"] == "error" and cell["infra_error"] is True and cell["report"]["checks"]
    Report.model_validate(cell["report"])  # the full report round-trips through its own model


def test_feedback_markdown(store: Store, tmp_path: Path) -> None:
    paths = write_all(store.rows(), tmp_path / "fb")
    assert sorted(p.name for p in paths) == sorted(f"{s}.md" for s in STATUSES)
    bob = (tmp_path / "fb" / "bob.md").read_text()
    assert "# Feedback for bob" in bob and "✘" in bob and "observed" in bob
    assert "````text\nhello ``` world\n````" in bob  # the fence outgrows the back-ticks in the output
    assert "No file for this exercise" in (tmp_path / "fb" / "erin.md").read_text()


def _grade(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "80"}  # a plain terminal: the class tables must read at this width
    return subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True, text=True, timeout=120, env=env)


def test_cli_export_feedback_report(store: Store, tmp_path: Path) -> None:
    db = str(store.path)
    done = _grade("export", "--db", db, "--format", "canvas")
    assert done.returncode == 0, done.stderr
    assert next(csv.reader(io.StringIO(done.stdout)))[:5] == CANVAS_FIXED
    out = tmp_path / "g.csv"
    assert _grade("export", "--db", db, "--format", "csv", "--out", str(out)).returncode == 0
    assert len(list(csv.DictReader(io.StringIO(out.read_text())))) == len(STATUSES)
    assert _grade("feedback", "--db", db, "--out", str(tmp_path / "fb")).returncode == 0
    assert len(list((tmp_path / "fb").glob("*.md"))) == len(STATUSES)
    rep = _grade("report", "--db", db, "--html", str(tmp_path / "r.html"))
    assert rep.returncode == 0, rep.stderr
    assert "checks most students fail" in rep.stdout and "dave" in rep.stdout and (tmp_path / "r.html").is_file()
    scores = rep.stdout.split("checks most students fail")[0]
    rows = [line for line in scores.splitlines() if line.startswith("│ ex")]
    assert rows and all(line.count("│") == 9 for line in rows), rows  # one line per exercise, nothing wrapped


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "grades.sqlite"
    bad.write_bytes(b"garbage" * 200)
    (tmp_path / "alice").mkdir()
    for args in (["export", "--db", str(bad)], ["batch", str(tmp_path), "--db", str(bad)]):
        done = _grade(*args)
        assert done.returncode == 2, done.stderr
        assert str(bad) in done.stderr and len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    done = _grade("export", "--db", str(tmp_path / "nothing.sqlite"), "--format", "xml")
    assert done.returncode == 2
