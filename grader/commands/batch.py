"""Instructor commands: `batch` grades a class folder; `export`, `feedback` and `report` read its database.

Student-controlled text (ids, zip paths, reasons, retry causes) goes into rich markup only through
`neutralise.markup`. What a command needs is imported when it runs: `export` needs no progress bar."""

from __future__ import annotations

import enum
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from grader.cli import PackOption, use_packs
from grader.errors import GraderError
from grader.neutralise import markup

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from grader.batch import Cell, Summary
    from grader.store import Row

# a path or a postgresql:// URL: kept a string, since a Path would fold the URL's `//`
# GRADE_DB: a URL with a password stays out of the process list, which every user of the host can read
DB = Annotated[
    str,
    typer.Option("--db", envvar="GRADE_DB", help="the results database: an SQLite file, or a postgresql:// URL"),
]


class ExportFormat(enum.StrEnum):
    csv = "csv"
    canvas = "canvas"
    moodle = "moodle"
    json = "json"


class BarObserver:
    """The batch's observer drawn as a rich progress bar with live status counts."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.counts = {"passed": 0, "failed": 0, "error": 0, "timeout": 0, "missing": 0}
        self.task = progress.add_task("grading", total=None, counts=self._counts(), rate="")

    def _counts(self) -> str:
        c = self.counts
        return (
            f"[green]{c['passed']} passed[/] [red]{c['failed']} failed[/] [magenta]{c['error']} error[/] "
            f"[yellow]{c['timeout']} timeout[/] [dim]{c['missing']} missing[/]"
        )

    def planned(self, total: int, skipped: int) -> None:
        # resumed cells are neither counted in the rate nor the ETA: only runs to do
        self.progress.update(self.task, total=total - skipped)
        if skipped:
            self.progress.console.print(f"resuming: {skipped} of {total} cells already graded with these files")

    def started(self, cell: Cell) -> None: ...

    def finished(self, cell: Cell, row: Row) -> None:
        self.counts[row.status] = self.counts.get(row.status, 0) + 1
        self.progress.update(self.task, advance=1)
        task = self.progress.tasks[self.task]
        rate = f"{task.completed / task.elapsed:.1f} runs/s" if task.elapsed else ""
        self.progress.update(self.task, counts=self._counts(), rate=rate)

    def retrying(self, cell: Cell, attempt: int, cause: str) -> None:
        self.progress.console.print(
            f"[magenta]retry {attempt}[/] {markup(f'{cell.student} {cell.exercise.id}: {cause[:160]}')}"
        )


def _sandbox(settings: Any, jobs: int) -> Any:
    from grader.errors import EngineUnavailable
    from grader.sandbox import select

    with _console(stderr=True).status("preparing the sandbox…") as status:
        if settings.sandbox in ("docker", "auto"):
            from grader.sandbox.docker import DockerSandbox

            try:
                return DockerSandbox(settings, progress=status.update, pool_size=max(10, jobs + 2))
            except EngineUnavailable:
                if settings.sandbox == "docker":
                    raise
        return select(settings.sandbox, settings, progress=status.update)


def _console(*, stderr: bool = False) -> Console:
    from grader.cli import console

    return console(stderr=stderr)


RULE_WORDS = {"course": "course layout", "flat": "flat names", "moodle": "Moodle names", "canvas": "Canvas names"}


def describe_found(cells: list[Cell]) -> str:
    """What batch found before it runs anything, by the rule that picked each file (each result keeps its own)."""
    students = len({c.student for c in cells})
    rules = Counter(c.found.rule for c in cells if c.found)
    parts = [f"{n} by {RULE_WORDS.get(rule, rule)}" for rule, n in rules.most_common()]
    missing = sum(c.found is None for c in cells)
    passed_over = sum(len(c.others) for c in cells)
    text = f"found {students} students, {len(cells)} cells: " + ", ".join([*parts, f"{missing} missing"])
    if passed_over:
        text += f"; {passed_over} other candidate file(s) passed over for a more explicit or later one"
    return text


def print_summary(summary: Summary, console: Console) -> None:
    c = summary.counts
    console.print(
        f"{summary.planned} cells: {c['passed']} passed, {c['failed']} failed, {c['timeout']} timeout, "
        f"{c['error']} error, {c['missing']} missing ({summary.skipped} resumed) in {summary.elapsed_s:.1f}s"
    )
    for row in summary.infra:
        console.print(f"[magenta]infrastructure error[/] {markup(f'{row.student} {row.exercise}: {row.reason}')}")


def _progress(console: Console) -> Progress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("[dim]{task.fields[rate]}[/]"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[counts]}"),
    )
    return Progress(*columns, console=console)


def grade_class(
    submissions: Path,
    exercise_ids: list[str],
    *,
    jobs: int | None,
    db: str,
    regrade: bool,
    timeout: float | None,
    broker: str | None = None,
) -> int:
    """`grade batch`: discover, grade with a progress bar, summarise; returns the exit code. With a broker,
    the runs go to `grade worker`s (grader/cluster/remote.py) and `jobs` is theirs to choose."""
    from grader.batch import default_jobs, discover
    from grader.catalog import registry, resolve
    from grader.cli import settings_from
    from grader.store import open_store

    err = _console(stderr=True)
    exercises = [resolve(e) for e in exercise_ids] if exercise_ids else list(registry().values())
    store = open_store(db)  # a damaged database stops us before anything runs
    settings = settings_from(timeout_s=timeout)
    client = None
    if broker is not None:  # and so does a broker that does not answer
        from grader.cluster.remote import Broker

        client = Broker(broker, settings)
    notes: list[str] = []
    cells = discover(submissions, exercises, notes=notes, max_bytes=settings.source_bytes)
    err.print(markup(describe_found(cells)), highlight=False)
    for note in notes:
        err.print(f"[yellow]skipped[/] an unreadable zip: {markup(note)}", highlight=False)
    n = jobs or default_jobs()
    sandbox = None if client is not None else _sandbox(settings, n)  # before the bar: its own status line
    with _progress(err) as progress:
        summary = _run(
            cells, store, settings, sandbox=sandbox, client=client, jobs=n, regrade=regrade, progress=progress
        )
    store.close()
    print_summary(summary, err)
    if summary.interrupted:
        stopped = "the workers drop its queued runs" if broker else f"removed {summary.removed} running container(s)"
        err.print(
            f"interrupted: {stopped}; finished results are kept in {markup(store.where)} — run the same command "
            "again to resume"
        )
        return 130
    return 1 if summary.infra else 0


def _run(
    cells: list[Cell],
    store: Any,
    settings: Any,
    *,
    sandbox: Any,
    client: Any,
    jobs: int,
    regrade: bool,
    progress: Progress,
) -> Summary:
    """The batch on this machine's sandbox, or on the workers when a broker `client` is given."""
    if client is not None:
        from grader.cluster.remote import run_remote

        return run_remote(
            cells,
            store=store,
            broker=client,
            settings=settings,
            regrade=regrade,
            observer=BarObserver(progress),
            note=lambda text: progress.console.print(markup(text), highlight=False),
        )
    from grader.batch import run_batch

    return run_batch(
        cells,
        store=store,
        sandbox=sandbox,
        settings=settings,
        jobs=jobs,
        regrade=regrade,
        observer=BarObserver(progress),
    )


def register(app: typer.Typer) -> None:
    @app.command()
    def batch(
        submissions: Annotated[
            Path, typer.Argument(help="a folder with one sub-folder per student, or the LMS download zip")
        ],
        exercise: Annotated[
            list[str] | None, typer.Option("--exercise", "-e", help="grade only these (repeat)")
        ] = None,
        jobs: Annotated[
            int | None, typer.Option("--jobs", "-j", min=1, help="runs at a time [default: 4 per core]")
        ] = None,
        db: DB = "grades.sqlite",
        regrade: Annotated[bool, typer.Option("--regrade", help="grade again what is already graded")] = False,
        timeout: Annotated[float | None, typer.Option(help="wall-clock limit per run, in seconds")] = None,
        broker: Annotated[
            str | None,
            typer.Option(
                "--broker", envvar="GRADE_BROKER", help="hand the runs to `grade worker`s through this Redis URL"
            ),
        ] = None,
        pack: PackOption = None,
    ) -> None:
        """Grade a class: every student's every exercise, resumable; exit 0 when all ran, 1 on infrastructure errors."""
        use_packs(pack)
        code = grade_class(
            submissions, exercise or [], jobs=jobs, db=db, regrade=regrade, timeout=timeout, broker=broker
        )
        raise typer.Exit(code)

    @app.command()
    def export(
        db: DB = "grades.sqlite",
        fmt: Annotated[ExportFormat, typer.Option("--format", help="csv, canvas, moodle or json")] = ExportFormat.csv,
        out_file: Annotated[Path | None, typer.Option("--out", help="write here [default: standard output]")] = None,
        roster: Annotated[Path | None, typer.Option("--roster", help="CSV mapping students to LMS ids")] = None,
    ) -> None:
        """Export the grades for an LMS or a spreadsheet."""
        from grader.reports.gradebook import FORMATS, Book, Roster
        from grader.store import open_existing

        store = open_existing(db)
        text = FORMATS[fmt.value](Book.of(store.rows()), Roster(roster) if roster else None)
        if out_file is None:
            print(text, end="")
        else:
            _write(out_file, text)
            _console(stderr=True).print(f"wrote {markup(str(out_file))}")

    @app.command()
    def feedback(
        db: DB = "grades.sqlite",
        out_dir: Annotated[Path, typer.Option("--out", help="folder for one markdown file per student")] = Path(
            "feedback"
        ),
    ) -> None:
        """Write each student's feedback: every exercise's checks and messages, in markdown."""
        from grader.reports.feedback import write_all
        from grader.store import open_existing

        paths = write_all(open_existing(db).rows(), out_dir)
        _console(stderr=True).print(f"wrote {len(paths)} feedback files to {markup(str(out_dir))}")

    @app.command()
    def report(
        db: DB = "grades.sqlite",
        html: Annotated[Path | None, typer.Option("--html", help="also write a self-contained HTML page here")] = None,
    ) -> None:
        """The class at a glance: score distributions, the most failed checks, errors and timeouts."""
        from grader.reports.classview import render
        from grader.reports.gradebook import Book
        from grader.store import open_existing

        book = Book.of(open_existing(db).rows())
        render(book, _console())
        if html is not None:
            from grader.reports.html import page

            _write(html, page(book))
            _console(stderr=True).print(f"wrote {markup(str(html))}")


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as e:
        raise GraderError(f"cannot write {path}: {e.strerror} — pick another --out") from e
