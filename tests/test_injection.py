"""Student text reaches no sink unneutralised (issue 14, items 11 and 20-24), and the crash handler holds (17).

A class whose folder names and program output attack every sink: rich markup, terminal escapes, GitHub
workflow commands, spreadsheet formulas, markdown and HTML, and file names that collide. Each sink is read
back with a real parser (csv, markdown-it, html.parser, tappy) through the real CLI in a subprocess.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest
from markdown_it import MarkdownIt
from tap.parser import Parser as TapParser

from grader import neutralise

from .conftest import ROOT

HOSTILE = ROOT / "tests" / "attacks" / "programs" / "injection" / "hostile_text_ex1.py"
REFERENCE = ROOT / "solutions" / "ex1_fork.py"
# what may never reach a reader raw: ESC, BEL, CSI (C1), a bidi override
RAW_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
FORMULA = ("=", "+", "-", "@", "\t", "\r")

# Student ids (folder names) that attack a sink; O'Brien and O Brien once shared a feedback file.
STUDENTS = {
    "O'Brien": REFERENCE,
    "O Brien": HOSTILE,
    "O_Brien": HOSTILE,
    "Alice": REFERENCE,
    "alice": HOSTILE,
    '=HYPERLINK("evil.example?x","x")': HOSTILE,
    "+cmd|' calc'!A0": HOSTILE,
    "-2+3": HOSTILE,
    "@SUM(A1)": HOSTILE,
    "\tTAB": HOSTILE,
    "[click](javascript:alert(1))": HOSTILE,
    "esc\x1b]0;pwned\x07\u202eevil": HOSTILE,
    "x[": HOSTILE,  # holds `x].zip`, unreadable: the note naming `…/x[/x].zip` aborted batch (MarkupError)
}

MD = MarkdownIt("commonmark").enable("table").enable("strikethrough")


def _grade(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {**os.environ, "COLUMNS": "100", "GRADE_TIMEOUT_S": "8", "GRADE_GRACE_S": "0.3", **(env or {})}
    base.pop("GITHUB_ACTIONS", None)
    return subprocess.run(
        [sys.executable, "-m", "grader", *args], cwd=cwd, capture_output=True, text=True, timeout=600, env=base
    )


def _clean_stream(text: str) -> None:
    """What a terminal or CI log would act on: no raw control character, no workflow command from a student,
    and no sign of the grader's own crash (the student's traceback may be echoed: it is output)."""
    assert not RAW_CONTROLS.search(text), repr(RAW_CONTROLS.search(text))
    assert "##[" not in text, text
    assert "MarkupError" not in text and "unexpected error" not in text, text


def _markdown_is_inert(text: str) -> None:
    """Rendered by a real CommonMark parser: no link, image or raw HTML anywhere (none is ours)."""
    kinds = set()
    for tok in MD.parse(text):
        kinds.add(tok.type)
        kinds.update(child.type for child in tok.children or [])
    assert not kinds & {"link_open", "image", "html_inline", "html_block"}, kinds
    assert not RAW_CONTROLS.search(text)


# --- unit: the neutralise module, sink by sink ------------------------------------------------------------


def test_control_characters_become_visible() -> None:
    text = "a\x1b[2J\x1b]0;t\x07\x9b31m\u202eb\x7f\r\n\tc"
    out = neutralise.control(text)
    assert not RAW_CONTROLS.search(out)
    assert "␛[2J" in out and "␇" in out and "<U+009B>" in out and "<U+202E>" in out and "␡" in out and "␍" in out
    assert out.endswith("\n\tc")  # line breaks and tabs are text, kept


def test_text_that_is_not_utf8_can_be_written() -> None:
    """A folder name from a zip in another encoding arrives as surrogateescape text: shown as its bytes."""
    name = b"Jos\xe9".decode("utf-8", "surrogateescape")
    assert neutralise.control(name) == "Jos\\xe9"
    for out in (neutralise.csv_cell(name), neutralise.md_inline(name), neutralise.html(name)):
        out.encode("utf-8")  # raised UnicodeEncodeError (print, write_text) before
    doc = neutralise.json_text(json.dumps({"s": name}, ensure_ascii=False))
    doc.encode("utf-8")
    assert json.loads(doc) == {"s": name}


def test_markup_cannot_close_or_open_a_tag() -> None:
    from rich.console import Console

    console = Console(file=io.StringIO(), color_system=None)
    for hostile in ("[/x]", "[bold]x", "a\\", "[/]", "x[/x].zip", "\\[/x]"):
        console.print(f"[red]note[/] {neutralise.markup(hostile)}")  # raised MarkupError before
    assert "note [/x]" in console.file.getvalue() and "note x[/x].zip" in console.file.getvalue()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "cell", ["=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1", " =1", "＝1", '=HYPERLINK("http://e","x")']
)
def test_csv_cells_cannot_start_a_formula(cell: str) -> None:
    out = neutralise.csv_cell(cell)
    assert out.startswith("'") and out[1:] == neutralise.control(cell)


def test_csv_numbers_stay_numbers() -> None:
    assert [neutralise.csv_cell(x) for x in ("10", "0.5", "9.75", "-1", "alice")] == [
        "10",
        "0.5",
        "9.75",
        "-1",
        "alice",
    ]


def test_workflow_lines_are_inert() -> None:
    out = neutralise.workflow("::error::x ##[stop-commands]t\n  ::warning::y\na::b")
    assert "##[" not in out and not any(ln.lstrip().startswith("::") for ln in out.splitlines())
    assert out.endswith("a::b")  # `::` inside a line is not a command: kept
    assert "::" not in neutralise.terminal("x ::error::y")  # a wrapped console line may start anywhere


def test_json_stays_the_same_data() -> None:
    data = {"m": "x ##[stop] ###[ \x1b \x9b \u202e 中文"}
    text = neutralise.json_text(json.dumps(data, ensure_ascii=False))
    assert json.loads(text) == data and "##[" not in text and not RAW_CONTROLS.search(text) and "中文" in text


def test_markdown_inline_renders_as_typed() -> None:
    for hostile in (
        "[x](http://e) ![i](http://t/p.png) <b>hi</b> *em* _u_ `c` ~~s~~ &amp; | a\\",
        "- item",
        "1. x",
        "# h",
        "=== ",
        "https://evil.example www.evil.example",
    ):
        inline = neutralise.md_inline(hostile)
        _markdown_is_inert(f"> {inline}\n\n| a |\n| --- |\n| {inline} |\n")
        tokens = MD.parseInline(inline)[0].children or []
        assert [t.type for t in tokens] == ["text"] and tokens[0].content.rstrip() == hostile.rstrip()


def test_a_fence_cannot_be_closed_from_inside() -> None:
    body = "a\n````\n```\n<img src=x>\n~~~"
    fenced = neutralise.md_fence(body)
    tokens = MD.parse(fenced)
    assert [t.type for t in tokens] == ["fence"] and tokens[0].content.rstrip("\n") == body


def test_file_names_are_unique_and_reversible() -> None:
    ids = ["O'Brien", "O Brien", "O_Brien", "O%27Brien", ".", "..", ".hidden", "a/b", "中文", "CON", "nul.x"]
    ids += ["x" * 500, "y" * 500]
    names = [neutralise.filename(s) for s in ids]
    assert len(set(names)) == len(ids)
    for s, n in zip(ids, names, strict=True):
        assert re.fullmatch(r"[A-Za-z0-9._%~-]+", n) and n not in (".", "..") and not n.startswith(".")
        assert len(n) <= neutralise.NAME_CAP
        assert n.split(".")[0].upper() not in ("CON", "NUL")
        if "~" not in n:
            assert unquote(n) == s
    # one file each on a case-insensitive file system too
    from grader.reports.feedback import file_names

    files = file_names(["Alice", "alice", "bob"])
    assert len({f.casefold() for f in files.values()}) == 3 and files["bob"] == "bob.md"


# --- the crash handler ------------------------------------------------------------------------------------


def _forced(body: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`grade list` in a subprocess whose exercise registry does `body`, with click not importable (typer
    vendors it: the old handler's `import click` failed and every crash exited 1)."""
    code = (
        "import sys\nsys.modules['click'] = None\nimport grader.catalog as catalog\n"
        f"def boom():\n    {body}\n"
        "catalog.registry = boom\nsys.argv = ['grade', 'list']\nfrom grader.cli import main\nmain()\n"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)


def test_a_crash_exits_3_with_one_line_and_a_log(tmp_path: Path) -> None:
    res = _forced("raise RuntimeError('boom [/x] \\x1b[2J')", tmp_path)
    assert res.returncode == 3, (res.returncode, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("unexpected error: RuntimeError: boom [/x] ␛[2J"), res.stderr
    logs = list((tmp_path / "cache" / "grade").glob("crash-*.log"))
    assert len(logs) == 1 and str(logs[0]) in lines[0]
    trace = logs[0].read_text()
    assert "Traceback" in trace and "RuntimeError: boom" in trace and "in boom" in trace


def test_ctrl_c_exits_130_and_a_user_error_2(tmp_path: Path) -> None:
    res = _forced("raise KeyboardInterrupt", tmp_path)  # typer turns it into Exit(130) itself
    assert res.returncode == 130 and "Traceback" not in res.stderr, res.stderr
    res = _forced("from grader.errors import GraderError; raise GraderError('bad [/x] input — fix it')", tmp_path)
    assert res.returncode == 2 and res.stderr.strip() == "error: bad [/x] input — fix it", res.stderr
    assert not (tmp_path / "cache").exists()


# --- the real CLI over a hostile class --------------------------------------------------------------------


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    root = tmp_path_factory.mktemp("hostile-class")
    klass = root / "class"
    for student, program in STUDENTS.items():
        (klass / student).mkdir(parents=True)
        shutil.copy(program, klass / student / "ex1.py")
    (klass / "x[" / "x].zip").write_bytes(b"PK\x03\x04 not a zip")
    db = root / "grades.sqlite"
    return db, _grade("batch", str(klass), "-e", "ex1", "--db", str(db), "--jobs", "2")


@pytest.mark.docker
def test_batch_grades_every_hostile_student(graded: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    db, res = graded
    assert res.returncode == 0, res.stderr
    _clean_stream(res.stdout + res.stderr)
    assert "Traceback" not in res.stderr
    assert "skipped an unreadable zip" in res.stderr and "x[/x].zip" in res.stderr
    doc = json.loads(_grade("export", "--db", str(db), "--format", "json").stdout)
    assert {s["student"] for s in doc["students"]} == set(STUDENTS)
    assert {s["student"]: s["total"] for s in doc["students"]}["O'Brien"] == 10


@pytest.mark.docker
@pytest.mark.parametrize("fmt", ["csv", "canvas", "moodle"])
def test_exported_csv_cells_are_inert(graded: tuple[Path, subprocess.CompletedProcess[str]], fmt: str) -> None:
    db, _ = graded
    res = _grade("export", "--db", str(db), "--format", fmt)
    assert res.returncode == 0, res.stderr
    rows = list(csv.reader(io.StringIO(res.stdout)))
    cells = [c for row in rows for c in row]
    assert cells and not [c for c in cells if c.startswith(FORMULA) or c.lstrip(" ").startswith(FORMULA)]
    assert not [c for c in cells if RAW_CONTROLS.search(c)]
    ids = {row[0].removeprefix("'") for row in rows[1:]} - {"Points Possible"}
    assert ids == {neutralise.control(s) for s in STUDENTS}  # every student, recognisable
    if fmt == "moodle":
        feedback = [row[2] for row in rows[1:]]
        assert all("<" not in f and ">" not in f for f in feedback)  # Moodle shows feedback as HTML
        assert any("&lt;img src=x onerror=alert(1)&gt;" in f for f in feedback)
    scores = [row[1] for row in rows[1:]] if fmt != "canvas" else [row[5] for row in rows[1:]]
    assert all(float(s) >= 0 for s in scores)  # numbers stayed numbers


@pytest.mark.docker
def test_feedback_files_are_one_per_student_and_inert(
    graded: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    db, _ = graded
    out = tmp_path / "fb"
    res = _grade("feedback", "--db", str(db), "--out", str(out))
    assert res.returncode == 0, res.stderr
    files = {p.name: p.read_text() for p in out.iterdir()}
    assert len(files) == len(STUDENTS)
    by_student = {}
    for name, text in files.items():
        stem = name.removesuffix(".md").split("~")[0]
        by_student[unquote(stem)] = text
        _markdown_is_inert(text)
    assert set(by_student) == set(STUDENTS)  # names reverse to their students
    assert "**Total: 10/10**" in by_student["O'Brien"] and "**Total: 10/10**" not in by_student["O Brien"]
    assert "**Total: 10/10**" in by_student["Alice"] and "**Total: 10/10**" not in by_student["alice"]
    hostile = by_student["O Brien"]
    fence = MD.parse(hostile)
    assert any(t.type == "fence" and "<img src=x onerror=alert(1)>" in t.content for t in fence)


@pytest.mark.docker
def test_class_report_in_terminal_and_html(
    graded: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    db, _ = graded
    page = tmp_path / "r.html"
    res = _grade("report", "--db", str(db), "--html", str(page))
    assert res.returncode == 0, res.stderr
    _clean_stream(res.stdout + res.stderr)
    assert "Traceback" not in res.stderr

    class Tags(HTMLParser):
        found: list[tuple[str, list[tuple[str, str | None]]]] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.found.append((tag, attrs))

    parser = Tags()
    parser.feed(page.read_text())
    assert "img" not in {t for t, _ in parser.found} and "script" not in {t for t, _ in parser.found}
    assert not [a for _, attrs in parser.found for a, _ in attrs if a.startswith("on")]
    assert not RAW_CONTROLS.search(page.read_text())


@pytest.mark.docker
def test_submit_text_report_is_inert() -> None:
    res = _grade("submit", "ex1", "--file", str(HOSTILE), "--tree")
    assert res.returncode == 1, res.stderr
    _clean_stream(res.stdout + res.stderr)
    assert not [ln for ln in res.stdout.splitlines() if ln.lstrip().startswith("::")]
    assert "␛]0;pwned␇" in res.stdout
    res = _grade("submit", "ex1", "--file", str(HOSTILE), "--format", "json")
    _clean_stream(res.stdout)
    assert "[/x] [bold]b\x1b]0;pwned\x07" in json.loads(res.stdout)["reason"]  # the data itself is kept


def _runner_commands(stdout: str) -> list[str]:
    """The workflow commands a GitHub runner would act on: `::name` at a line's start (outside a
    stop-commands block), and the legacy `##[name]` anywhere in a line."""
    found, stopped = [], None
    for line in stdout.splitlines():
        if stopped:
            if line.strip() == f"::{stopped}::":
                stopped = None
            continue
        found += [f"legacy:{m}" for m in re.findall(r"##\[([a-z-]+)", line)]
        if m := re.match(r"^\s*::([a-z-]+)[^:]*::(.*)$", line):
            found.append(m.group(1))
            if m.group(1) == "stop-commands":
                stopped = m.group(2)
    return found


@pytest.mark.docker
def test_ci_log_tap_and_step_summary_are_inert(tmp_path: Path) -> None:
    course = tmp_path / "course"
    (course / "exercises" / "ex1_fork").mkdir(parents=True)
    shutil.copy(HOSTILE, course / "exercises" / "ex1_fork" / "solution.py")
    summary = tmp_path / "summary.md"
    res = _grade("ci", "-e", "ex1", "--tap", "--github", cwd=course, env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert res.returncode == 1, res.stderr
    _clean_stream(res.stdout + res.stderr)
    assert not [ln for ln in res.stderr.splitlines() if ln.lstrip().startswith("::")]
    commands = _runner_commands(res.stdout)
    # ex1's failing checks: three missing lines and main's exit status, each one annotation and nothing else
    assert commands.count("error") == 4 and set(commands) == {"error", "group", "stop-commands", "endgroup"}
    tap_text = res.stdout.split("\n::", 1)[0] + "\n"
    assert _tap_points(tap_text) == ([False], [True, True, False, False, False, True, True, True, False])
    _markdown_is_inert(summary.read_text())


def _tap_points(text: str) -> tuple[list[bool], list[bool]]:
    """The top-level test points and those of the first subtest (dedented: a TAP document of its own)."""
    top = [ln.ok for ln in TapParser().parse_text(text) if ln.category == "test"]
    block = re.search(r"^# Subtest: \S+\n((?:    .*\n)+)", text, re.M)
    assert block, text
    inner = TapParser().parse_text(re.sub(r"^    ", "", block.group(1), flags=re.M))
    return top, [ln.ok for ln in inner if ln.category == "test"]


def test_a_tap_message_cannot_end_its_yaml_block() -> None:
    import yaml

    from grader.report import CheckResult, Report
    from grader.reports import tap

    message = "saw:\n  ...\nok 7 - forged\n  ---\n\x1b[2J ##[stop-commands]t"
    checks = [CheckResult(id="c", title="t", passed=False, score=0, max_score=1, message=message)]
    report = Report(
        grader_version="0", exercise="ex1_fork", status="failed", score=0, max_score=1, checks=checks, duration_s=0.1
    )
    text = tap.render([report])
    assert _tap_points(text) == ([False], [False])  # `ok 7 - forged` was read as a passing point before
    yaml_block = re.search(r"^      ---\n((?:      .*\n)+?)      \.\.\.$", text, re.M)
    assert yaml_block, text
    parsed = yaml.safe_load(re.sub(r"^      ", "", yaml_block.group(1), flags=re.M))
    assert parsed == {"message": neutralise.workflow(neutralise.control(message))}


def test_class_report_prints_hostile_reasons_as_text(tmp_path: Path) -> None:
    """`grade report` over a store whose error rows carry student text (a retry cause, an old judge's reason)."""
    import dataclasses

    from grader.store import Store

    from .test_exports import _row

    store = Store(tmp_path / "grades.sqlite")
    hostile = "[/x] \x1b]0;pwned\x07 ##[stop-commands]t ::error::forged"
    for student, status in (("a[", "error"), ("b]", "timeout"), ("c", "passed")):
        row = _row(student, "ex1_fork", status)
        store.put(dataclasses.replace(row, reason=hostile if status != "passed" else None))
    store.close()
    res = _grade("report", "--db", str(tmp_path / "grades.sqlite"))
    assert res.returncode == 0, res.stderr  # MarkupError, exit 3, before
    _clean_stream(res.stdout + res.stderr)
    assert "Traceback" not in res.stderr and "[/x]" in res.stdout and "␛]0;pwned␇" in res.stdout
