"""Gradebook exports of a batch's store: csv, Canvas, Moodle and json, one function each behind one dict."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from grader import __version__
from grader.catalog import registry
from grader.errors import GraderError
from grader.neutralise import csv_cell, html, json_text, one_line
from grader.report import SCHEMA_VERSION
from grader.store import Row

CANVAS_FIXED = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


@dataclass(frozen=True)
class Exercise:
    """What an export needs of an exercise: also known for exercises no longer in this grader."""

    id: str
    title: str
    max_score: float


@dataclass(frozen=True)
class Book:
    """The class as a grid: students in order, exercises in order, one row per cell."""

    students: list[str]
    exercises: list[Exercise]
    cells: dict[tuple[str, str], Row]

    @classmethod
    def of(cls, rows: list[Row]) -> Book:
        known = registry()
        ids = sorted({r.exercise for r in rows}, key=lambda i: (known[i].number if i in known else 99, i))
        maxes = {r.exercise: r.max_score for r in rows}
        exercises = [Exercise(i, f"ex{known[i].number} {known[i].name}" if i in known else i, maxes[i]) for i in ids]
        return cls(sorted({r.student for r in rows}), exercises, {(r.student, r.exercise): r for r in rows})

    def score(self, student: str, ex: str) -> float:
        row = self.cells.get((student, ex))
        return row.score if row else 0.0

    def total(self, student: str) -> float:
        return round(sum(self.score(student, e.id) for e in self.exercises), 2)

    @property
    def max_total(self) -> float:
        return sum(e.max_score for e in self.exercises)

    def statuses(self, ex: str) -> Counter[str]:
        return Counter(self.cells[(s, ex)].status if (s, ex) in self.cells else "missing" for s in self.students)

    def histogram(self, ex: Exercise, bins: int = 10) -> list[tuple[str, int]]:
        """Students per score band (missing files count as 0): [(label, count)], lowest band first."""
        width = ex.max_score / bins if ex.max_score else 1
        counts = [0] * bins
        for s in self.students:
            counts[min(bins - 1, int(self.score(s, ex.id) / width))] += 1
        return [(f"{_num(round(i * width, 1))}–{_num(round((i + 1) * width, 1))}", n) for i, n in enumerate(counts)]

    def failing_checks(self) -> list[tuple[Exercise, str, int, int]]:
        """(exercise, check title, students failing it, students whose run was judged), most failed first.
        Only judged runs count: an error or a missing file fails every check without saying anything."""
        failed: Counter[tuple[str, str]] = Counter()
        judged: Counter[str] = Counter()
        for r in self.cells.values():
            if r.report is None or r.status not in ("passed", "failed", "timeout"):
                continue
            judged[r.exercise] += 1
            for c in json.loads(r.report)["checks"]:
                if not c["passed"] and not c["message"].startswith("not run"):
                    failed[(r.exercise, c["title"])] += 1
        by_id = {e.id: e for e in self.exercises}
        return [(by_id[e], title, n, judged[e]) for (e, title), n in failed.most_common()]

    def trouble(self) -> list[Row]:
        """Cells that hit an error or a timeout, infrastructure failures first."""
        rows = [r for r in self.cells.values() if r.status in ("error", "timeout")]
        return sorted(rows, key=lambda r: (not r.infra, r.status, r.student, r.exercise))


def _num(x: float) -> str:
    return f"{x:g}"


def feedback_line(row: Row | None) -> str:
    """A cell's feedback in one line: status, the checks that failed, and why."""
    if row is None or row.status == "missing":
        return "missing: no file for this exercise was found"
    text = f"{row.status} {_num(row.score)}/{_num(row.max_score)}"
    if row.report:
        failed = [c["title"] for c in json.loads(row.report)["checks"] if not c["passed"]]
        if failed and row.status != "error":
            text += "; failed: " + "; ".join(failed)
    return text + (f" ({row.reason})" if row.reason else "")


def _csv(header: list[str], lines: list[list[str]]) -> str:
    """Every CSV the grader writes passes here: no cell can start a spreadsheet formula (see csv_cell)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([csv_cell(c) for c in header])
    writer.writerows([csv_cell(c) for c in line] for line in lines)
    return buf.getvalue()


def to_csv(book: Book, roster: Roster | None = None) -> str:
    header = ["student", *(e.id for e in book.exercises), "total"]
    return _csv(
        header, [[s, *(_num(book.score(s, e.id)) for e in book.exercises), _num(book.total(s))] for s in book.students]
    )


def to_moodle(book: Book, roster: Roster | None = None) -> str:
    """Moodle's CSV grade import: an identifier column, then per exercise a score and a feedback column."""
    header = ["identifier"]
    for e in book.exercises:
        header += [e.id, f"{e.id} feedback"]
    lines = []
    for s in book.students:
        line = [roster.field(s, "identifier", s) if roster else s]
        for e in book.exercises:
            # Moodle shows feedback as HTML: the student's words in it are escaped, on one line
            line += [_num(book.score(s, e.id)), html(one_line(feedback_line(book.cells.get((s, e.id)))), quote=False)]
        lines.append(line)
    return _csv(header, lines)


def to_canvas(book: Book, roster: Roster | None = None) -> str:
    """Canvas's gradebook import: the five identity columns, then `<Assignment> (<id>)` per exercise."""
    columns = [f"{e.title} ({roster.assignment(e) if roster else e.id})" for e in book.exercises]
    lines = [["Points Possible", "", "", "", "", *(_num(e.max_score) for e in book.exercises)]]
    for s in book.students:
        who = [
            roster.field(s, c, s if c in ("Student", "SIS Login ID") else "")
            if roster
            else (s if c in ("Student", "SIS Login ID") else "")
            for c in CANVAS_FIXED
        ]
        lines.append([*who, *(_num(book.score(s, e.id)) for e in book.exercises)])
    return _csv([*CANVAS_FIXED, *columns], lines)


def to_json(book: Book, roster: Roster | None = None) -> str:
    students = []
    for s in book.students:
        results = {}
        for e in book.exercises:
            r = book.cells.get((s, e.id))
            if r is None:
                continue
            results[e.id] = {
                "status": r.status,
                "score": r.score,
                "max_score": r.max_score,
                "reason": r.reason,
                "infra_error": r.infra,
                "submission": r.submission,
                "rule": r.rule,
                "sha256": r.sha256 or None,
                "grader_version": r.grader_version,
                "graded_at": r.graded_at,
                "report": json.loads(r.report) if r.report else None,
            }
        students.append({"student": s, "total": book.total(s), "max_total": book.max_total, "results": results})
    doc = {
        "schema_version": SCHEMA_VERSION,
        "grader_version": __version__,
        "exercises": [{"id": e.id, "title": e.title, "max_score": e.max_score} for e in book.exercises],
        "students": students,
    }
    return json_text(json.dumps(doc, indent=2, ensure_ascii=False)) + "\n"


FORMATS: dict[str, Callable[[Book, Roster | None], str]] = {
    "csv": to_csv,
    "canvas": to_canvas,
    "moodle": to_moodle,
    "json": to_json,
}


class Roster:
    """A CSV mapping student ids (folder names) to LMS identities. Its `student` column holds the folder
    name; without one, a Canvas gradebook export works as is: rows match on SIS Login ID, SIS User ID, ID
    or the sortable name, and its `<Assignment> (<id>)` columns give the assignment ids."""

    def __init__(self, path: Path) -> None:
        try:
            with path.open(newline="", encoding="utf-8-sig") as f:
                reader = csv.DictReader(f)
                self.header = list(reader.fieldnames or [])
                rows = list(reader)
        except (OSError, UnicodeDecodeError, csv.Error) as err:
            raise GraderError(f"cannot read the roster {path}: {err} — pass a UTF-8 CSV file with --roster") from err
        if not self.header:
            raise GraderError(f"the roster {path} has no header line — its first line must name the columns")
        self.by_key: dict[str, dict[str, str]] = {}
        keys = ["student"] if "student" in self.header else ["SIS Login ID", "SIS User ID", "ID", "Student"]
        for row in rows:
            for k in keys:
                if row.get(k):
                    self.by_key.setdefault(_key(row[k]), row)

    def field(self, student: str, column: str, default: str) -> str:
        row = self.by_key.get(_key(student))
        if row is None:
            return default
        aliases = {
            "identifier": ["identifier", "email", "username", "SIS Login ID", "ID"],
            "Student": ["Student", "name"],
        }
        for name in aliases.get(column, [column]):
            if row.get(name):
                return row[name]
        return default

    def assignment(self, ex: Exercise) -> str:
        """The Canvas assignment id of the roster column naming this exercise (ex3, ex3_name), else the exercise id."""
        num = ex.id.split("_", 1)[0]
        for col in self.header:
            m = re.match(r"^(?P<name>.*)\((?P<id>\d+)\)\s*$", col)
            if m and re.search(rf"\b{num}\b|\b{ex.id}\b", m.group("name"), re.I):
                return m.group("id")
        return ex.id


def _key(text: str) -> str:
    # Canvas download names use the sortable name squashed: "Doe, Jane" -> "doejane"
    return re.sub(r"[^a-z0-9@._-]", "", text.lower())
