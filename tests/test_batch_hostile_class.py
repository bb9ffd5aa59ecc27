"""`grade batch` over a class of hostile students (issue 14: "one student must never stop a class, or the
grader"): the attack suite's DoS and forging programs, folder names built to break every sink (not UTF-8, rich
markup, spreadsheet formulas, terminal escapes, names that collide once sanitised, a very long one), a zip bomb
and a zip whose members climb out with `../`. The real CLI runs in a subprocess against a real Docker engine,
then every report an instructor reads is written from the database it filled."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import pytest

from grader.batch import discover, grade_cell
from grader.catalog import resolve
from grader.layouts import printable
from grader.sandbox.base import RunOutcome, RunRequest
from grader.settings import Settings
from grader.submission import precheck

from .conftest import ROOT

PROGRAMS = ROOT / "tests" / "attacks" / "programs"
REFERENCE = ROOT / "solutions" / "ex1_fork.py"
EXERCISES = ("ex1_fork", "ex5_queue")  # ex5: only the reference student hands it in; for the rest, `missing`
LIMIT = "4"  # seconds per run: every DoS program here ends by itself or at its limit well within it
MAX_RSS_KB = 512 << 10  # the grader's peak memory over the whole batch (about 120 MiB measured; 1.4 GB once)
ENV = {"GRADE_GRACE_S": "0.3", "GRADE_START_MARGIN_S": "10", "NO_COLOR": "1"}
# what a student may put in a folder name to reach a terminal (colour, then an OSC window title with BEL)
ESCAPES = ("\x1b[31m", "\x1b]0;", "\x07", "\rcarriage")


@dataclass(frozen=True)
class Student:
    folder: bytes  # the folder's name as the file system holds it (not always UTF-8)
    program: Path | None  # what they hand in as ex1 (None: only what their zips hold)
    full_marks: bool  # must they get full marks?

    @property
    def id(self) -> str:
        """The id batch stores: undecodable bytes as `\\xNN` (see layouts.printable)."""
        return printable(os.fsdecode(self.folder))


def _s(name: str | bytes, program: str | Path | None, full: bool = False) -> Student:
    folder = name if isinstance(name, bytes) else name.encode()
    path = PROGRAMS / f"{program}.py" if isinstance(program, str) else program
    return Student(folder, path, full)


# Hostile names carry hostile programs too, so each run tests two things; `O'Brien` and `O Brien` (one file
# name once sanitised, formerly) hold a passing and a failing program, so a mix-up shows in the feedback.
CLASS = [
    _s("alice_reference", REFERENCE, full=True),
    _s("O'Brien", REFERENCE, full=True),
    _s("O Brien", "fork_bomb"),
    _s(b"Ren\xe9 (latin-1)", "thread_bomb"),
    _s("[bold][link=https:evil.example]markup [x]", "memory_bomb_main"),  # `[/x]` is in zip_slip's zip
    _s('=HYPERLINK("evil.example","click")', "line_flood"),
    _s("+cmd|' C calc'!A0", "nonewline_flood"),
    _s("\x1b[31mred\x1b]0;pwned\x07", "fork_churn"),
    _s("L" * 200, "daemon_double_fork"),
    _s("new\nline\rcarriage\ttab", "sandbox/fake_tracer_words"),
    _s("-2+3 dash", "clone_untraced"),
    _s("@SUM(A1) at", "sandbox/orphan_zombies"),
    _s("memfd", "sandbox/memfd_fill"),
    _s("seccomp", "sandbox/seccomp_user_notif"),
    _s("clone_parent", "clone_parent_sibling"),
    _s("exec_thread", "exec_from_thread"),
    _s("vmsplice", "vmsplice_output"),
    _s("deep_chain", "batch/deep_process_chain"),
    _s("zip_bomb", None),
    _s("zip_slip", None, full=True),  # the reference, inside a zip beside members that climb out
    _s("huge_file", None),  # an ex1.py larger than the bound on the grader's memory (sparse: no disk)
    _s("linked", None),  # ex1.py is a link to the reference solution (a cloned repository can hold links)
]
HUGE = 5 << 28  # 1.25 GiB
# why the files no program ran from were refused
REASONS = {
    b"huge_file": r"^ex1\.py is 1,342,177,280 bytes, over the limit of 262,144 bytes",
    b"zip_bomb": r"^ex1\.py is 41,943,047 bytes, over the limit",  # bomb1.zip's; bomb2.zip overspent the budget
    b"linked": r"^no file for this exercise$",
}


def _write_program(folder: Path, program: Path, token: str, i: int) -> None:
    """Alternate the course layout and a flat name; the token marks the class's containers."""
    target = folder / "ex1.py" if i % 2 else folder / "course" / "exercises" / "ex1_fork" / "solution.py"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(program.read_bytes() + f"\n# {token}\n".encode())


def _zip_bomb(folder: Path) -> None:
    """Two zips of one 40 MiB ex1.py each (40 KB compressed): the second overspends the student's budget, and
    what the first yields is far past the size a submission may have."""
    body = b"x = 1\n" + b"#" * (40 << 20) + b"\n"
    for n in (1, 2):
        with zipfile.ZipFile(folder / f"bomb{n}.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
            z.writestr("ex1.py", body)


def _zip_slip(folder: Path, token: str) -> list[str]:
    """The reference, in a folder named like a closing rich tag (`[/x]` raised MarkupError), beside members
    whose paths leave the extraction folder; returns the names those members would land at outside it."""
    escaped = [f"escaped_{token}_a.py", f"escaped_{token}_b.py"]
    with zipfile.ZipFile(folder / "work.zip", "w") as z:
        z.writestr(f"../../{escaped[0]}", "print('escaped')\n")
        z.writestr(f"/tmp/{escaped[1]}", "print('escaped')\n")
        z.writestr("[/x]/ex1.py", REFERENCE.read_bytes() + f"\n# {token}\n".encode())
    return escaped


def _huge(folder: Path) -> None:
    with open(folder / "ex1.py", "wb") as f:
        f.write(b"print('hello')\n")
        f.truncate(HUGE)


def build_class(root: Path, token: str) -> list[str]:
    """Write CLASS under `root`; returns the file names the zip-slip members must never be written to."""
    root.mkdir()
    escaped: list[str] = []
    for i, student in enumerate(CLASS):
        folder = Path(os.fsdecode(os.fsencode(root) + b"/" + student.folder))
        os.mkdir(os.fsencode(folder))
        if student.program is not None:
            _write_program(folder, student.program, token, i)
        elif student.folder == b"zip_bomb":
            _zip_bomb(folder)
        elif student.folder == b"linked":
            (folder / "ex1.py").symlink_to(REFERENCE)
        elif student.folder == b"huge_file":
            _huge(folder)
        else:
            escaped += _zip_slip(folder, token)
    latin = os.fsencode(root) + b"/Ren\xe9 (latin-1)"
    os.mkdir(latin + b"/d\xfcr")  # a folder inside theirs that is not UTF-8 either
    os.rename(latin + b"/ex1.py", latin + b"/d\xfcr/ex1.py")
    (root / "alice_reference" / "ex5.py").write_bytes((ROOT / "solutions" / "ex5_queue.py").read_bytes())
    assert sorted({z.parent.name for z in root.rglob("*.zip")}) == ["zip_bomb", "zip_slip"]
    return escaped


def _grade(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "grader", *args],
        capture_output=True,
        text=True,
        errors="surrogateescape",
        timeout=timeout,
        env={**os.environ, **ENV},
    )


def _no_crash(res: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in res.stderr and "unexpected error" not in res.stderr, res.stderr[-3000:]


Table = dict[tuple[str, str], tuple[str, float, float, str | None]]


def _table(db: Path) -> Table:
    with sqlite3.connect(db) as c:
        rows = c.execute(
            "SELECT r.student, r.exercise, r.status, r.score, r.max_score, r.reason FROM cells "
            "JOIN results r USING (student, exercise, sha256, grader_version)"
        ).fetchall()
    return {(s, e): (st, sc, mx, why) for s, e, st, sc, mx, why in rows}


def _report(db: Path, student: str, exercise: str) -> dict:  # type: ignore[type-arg]
    with sqlite3.connect(db) as c:
        (text,) = c.execute(
            "SELECT r.report FROM cells JOIN results r USING (student, exercise, sha256, grader_version) "
            "WHERE student = ? AND exercise = ?",
            (student, exercise),
        ).fetchone()
    return json.loads(text)  # type: ignore[no-any-return]


def _class_containers(token: str, since: float) -> list[str]:
    """Containers labelled grade.run that ran one of this class's programs (their source carries the token).
    One whose configuration cannot be read is counted when it appeared during the batch and outlives a grace
    period (other suites' containers, on a shared engine, end on their own)."""
    ps = ["docker", "ps", "-a", "-q", "--no-trunc", "--filter", "label=grade.run"]
    found, unknown = [], []
    for cid in subprocess.run(ps, capture_output=True, text=True, check=True).stdout.split():
        env, created = _inspect(cid)
        if env is None:
            continue  # gone meanwhile
        source = _source(env)
        if source is None and created >= since:
            unknown.append(cid)
        elif source is not None and token.encode() in source:
            found.append(cid)
    deadline = time.monotonic() + 30
    while unknown and time.monotonic() < deadline:
        time.sleep(2)
        alive = subprocess.run(ps, capture_output=True, text=True, check=True).stdout.split()
        unknown = [cid for cid in unknown if cid in alive]
    return found + unknown


def _inspect(cid: str) -> tuple[list[str] | None, float]:
    fmt = "{{json .Config.Env}}\t{{.Created}}"
    res = subprocess.run(["docker", "inspect", "--format", fmt, cid], capture_output=True, text=True)
    if res.returncode != 0:
        return None, 0.0
    env, created = res.stdout.strip().split("\t")
    stamp = subprocess.run(["date", "-d", created, "+%s.%N"], capture_output=True, text=True).stdout
    return json.loads(env) or [], float(stamp or 0)


def _source(env: list[str]) -> bytes | None:
    for item in env:
        if item.startswith("GRADE_CONFIG="):
            try:
                config = json.loads(item.split("=", 1)[1])
                return zlib.decompress(base64.b64decode(config["source_z"]))
            except (ValueError, KeyError, TypeError, zlib.error):
                return None
    return None


def _max_rss_kb(log: Path) -> int:
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", log.read_text())
    assert m, log.read_text()
    return int(m.group(1))


def _check_verdicts(table: Table) -> None:
    """A verdict for every student and exercise; full marks for the reference only."""
    cells = {(s.id, e) for s in CLASS for e in EXERCISES}
    assert set(table) == cells, sorted(set(table) ^ cells)
    for s in CLASS:
        status, score, top, why = table[(s.id, "ex1_fork")]
        assert status in ("passed", "failed", "error", "timeout") or s.folder == b"linked", (s.id, status)
        if s.full_marks:
            assert (status, score) == ("passed", top), (s.id, status, score, why)
        else:
            assert status != "passed" and score < top, (s.id, status, score, why)
        if s.folder in REASONS:
            assert why and re.search(REASONS[s.folder], why), (s.id, why)
        ex5 = table[(s.id, "ex5_queue")]
        assert ex5[:2] == (("passed", ex5[2]) if s.folder == b"alice_reference" else ("missing", 0.0)), (s.id, ex5)


def _check_csv(text: str, ids: set[str], name_column: int, *, skip: int = 1) -> None:
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[skip:]
    cells = [c for row in rows for c in row]
    numbers = re.compile(r"[+-]?\d+(\.\d+)?")
    for cell in cells:
        if not numbers.fullmatch(cell):
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
        assert not any(e in cell for e in ESCAPES), cell
    shown = {row[name_column] for row in body}
    assert len(body) == len(ids) == len(shown), (header, len(body), len(ids))
    # the prefix is the only change a plain id gets: ' in front of a formula start
    for sid in ids:
        if not any(e in sid for e in ESCAPES):
            assert sid in shown or "'" + sid in shown, (sid, sorted(shown))


def _check_exports(db: Path, out: Path) -> None:
    ids = {s.id for s in CLASS}
    for fmt, column, skip in (("csv", 0, 1), ("canvas", 0, 2), ("moodle", 0, 1)):
        res = _grade("export", "--db", str(db), "--format", fmt)
        _no_crash(res)
        assert res.returncode == 0, res.stderr
        _check_csv(res.stdout, ids, column, skip=skip)
    res = _grade("export", "--db", str(db), "--format", "json", "--out", str(out / "class.json"))
    assert res.returncode == 0, res.stderr
    doc = json.loads((out / "class.json").read_text(encoding="utf-8"))
    assert {s["student"] for s in doc["students"]} == ids
    assert all(set(s["results"]) == set(EXERCISES) for s in doc["students"]), doc["students"]


def _check_feedback(db: Path, out: Path) -> None:
    res = _grade("feedback", "--db", str(db), "--out", str(out))
    _no_crash(res)
    assert res.returncode == 0, res.stderr
    files = sorted(out.glob("*.md"))
    assert len(files) == len(CLASS), [f.name for f in files]
    by_id = {_feedback_id(f): f.read_text(encoding="utf-8") for f in files}
    assert set(by_id) == {s.id for s in CLASS}
    for text in by_id.values():
        assert not any(e in text for e in ESCAPES), text[:500]
    # the two names one sanitised file name once served: each file holds its own student's grades
    passed = re.compile(r"^\| ex1[^|]* \| passed \| 10/10 \|$", re.M)
    assert passed.search(by_id["O'Brien"]) and not passed.search(by_id["O Brien"]), by_id["O'Brien"][:600]


def _feedback_id(path: Path) -> str:
    """The student a feedback file is for: its name percent-decoded, or for a long id (`<prefix>~<hash>`) the
    one id that starts with the prefix."""
    stem = unquote(path.stem, errors="surrogateescape")
    if "~" not in stem:
        return stem
    head = stem.rsplit("~", 1)[0]
    (match,) = [s.id for s in CLASS if s.id.startswith(head) and len(s.id) > len(head)]
    return match


def _check_reports(db: Path, out: Path) -> None:
    res = _grade("report", "--db", str(db), "--html", str(out / "class.html"))
    _no_crash(res)
    assert res.returncode == 0, res.stderr
    page = (out / "class.html").read_text(encoding="utf-8")
    for text in (res.stdout, res.stderr, page):
        assert not any(e in text for e in ESCAPES), text[:2000]
    assert "<script" not in page.lower()
    res = _grade("report", "--db", str(db))
    _no_crash(res)
    assert res.returncode == 0, res.stderr


def _escaped_anywhere(names: list[str], root: Path) -> list[Path]:
    """Zip-slip members written anywhere near the extraction folder (the temp folder) or the class."""
    places = [Path(tempfile.gettempdir()), Path("/tmp"), root, root.parent]
    return [p / n for p in places for n in names if (p / n).exists()]


def _batch(root: Path, db: Path, rss: Path) -> subprocess.CompletedProcess[str]:
    """`grade batch` under /usr/bin/time, which writes the grader's peak memory to `rss`."""
    args = ["batch", str(root), "--db", str(db), "--jobs", "4", "--timeout", LIMIT]
    res = subprocess.run(
        ["/usr/bin/time", "-v", "-o", str(rss), sys.executable, "-m", "grader", *args, "-e", "ex1", "-e", "ex5"],
        capture_output=True,
        text=True,
        errors="surrogateescape",
        timeout=800,
        env={**os.environ, **ENV},
    )
    _no_crash(res)
    assert res.returncode in (0, 1), (res.returncode, res.stderr[-3000:])
    assert not any(e in res.stderr + res.stdout for e in ESCAPES), res.stderr[-3000:]
    return res


def _check_deep_chain(db: Path) -> None:
    """The chain really was deep (a verdict on a shallow one would prove nothing): it ended at its full depth,
    or ran to the time limit on a machine too busy to finish it."""
    report = _report(db, "deep_chain", "ex1_fork")
    reached = re.search(r"the chain reached (\d+) generations", report["output"])
    assert report["status"] == "timeout" or (reached and int(reached.group(1)) == 1500), report["output"][-300:]


@pytest.mark.docker  # 15 to 45 s on 2 busy cores: not `slow`
@pytest.mark.timeout(900)
def test_a_hostile_class_is_graded_to_the_end(tmp_path: Path) -> None:
    token = f"hostile-class-{uuid.uuid4().hex}"
    root, db, out, rss = tmp_path / "class", tmp_path / "grades.sqlite", tmp_path / "out", tmp_path / "time.txt"
    escaped = build_class(root, token)
    t0 = time.time()
    res = _batch(root, db, rss)
    elapsed = time.time() - t0
    print(f"\nbatch: exit {res.returncode} in {elapsed:.1f}s, max RSS {_max_rss_kb(rss) >> 10} MiB")
    table = _table(db)
    _check_verdicts(table)
    _check_deep_chain(db)
    assert _max_rss_kb(rss) < MAX_RSS_KB
    assert _escaped_anywhere(escaped, root) == []
    assert _class_containers(token, t0) == [], "the batch left containers behind"
    out.mkdir()
    _check_exports(db, out)
    _check_feedback(db, out / "feedback")
    _check_reports(db, out)
    # a rerun resumes every cell the grader did not fail (it retries those) and changes no verdict
    res = _batch(root, db, rss)
    assert "resuming:" in res.stderr, res.stderr[-2000:]
    assert _table(db) == table


class _Refuses:
    """A sandbox a refused file must never reach."""

    name = "none"

    def run(self, request: RunRequest) -> RunOutcome:
        raise AssertionError("a file over the size limit was run")


def test_a_file_over_the_size_limit_is_refused_without_holding_it(tmp_path: Path) -> None:
    """Batch held every cell's whole file until it was graded: one 1.25 GiB ex1.py took the grader to 1.4 GB.
    Its hash is still the whole file's, and the verdict is the size limit's, from the size alone."""
    (tmp_path / "class" / "big").mkdir(parents=True)
    body = b"print('hello')\n" + b"#" * (3 << 20)
    (tmp_path / "class" / "big" / "ex1.py").write_bytes(body)
    (cell,) = discover(tmp_path / "class", [resolve("ex1")], max_bytes=1 << 20)
    assert cell.source == b"" and cell.sha256 == hashlib.sha256(body).hexdigest()
    row = grade_cell(cell, _Refuses(), Settings(source_bytes=1 << 20), threading.Event(), lambda n, cause: None)
    assert (row.status, row.score, row.infra) == ("failed", 0.0, False)
    assert row.reason == precheck(body, "ex1.py", max_bytes=1 << 20)  # the words a lone `grade submit` gives
    assert row.sha256 == cell.sha256 and json.loads(row.report or "{}")["sha256"] == cell.sha256


def test_links_in_a_students_folder_are_not_their_files(tmp_path: Path) -> None:
    """A repository cloned for grading can hold links: `ex1.py -> <the reference solution>` was graded as the
    student's own file (full marks for a file they never wrote), `ex1.py -> ../alice/ex1.py` as a copy of
    another's. Like a zip's link members, they are skipped."""
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "ex1.py").write_bytes(REFERENCE.read_bytes())
    (tmp_path / "bob" / "course" / "exercises" / "ex2_process").mkdir(parents=True)
    (tmp_path / "bob" / "ex1.py").symlink_to(REFERENCE)
    (tmp_path / "bob" / "ex01.py").symlink_to(tmp_path / "alice" / "ex1.py")
    (tmp_path / "bob" / "course" / "exercises" / "ex2_process" / "solution.py").symlink_to(REFERENCE)
    cells = {(c.student, c.exercise.id): c for c in discover(tmp_path, [resolve("ex1"), resolve("ex2")])}
    assert cells[("alice", "ex1_fork")].found is not None
    assert cells[("bob", "ex1_fork")].found is None and cells[("bob", "ex2_process")].found is None
