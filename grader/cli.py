"""The `grade` command: parses options, calls the core, turns results and errors into exit codes."""

from __future__ import annotations

import enum
import importlib
import importlib.util
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from grader import __version__
from grader.catalog import course_root, registry, resolve, statement
from grader.errors import GraderError, SubmissionError
from grader.settings import Settings
from grader.settings import load as load_settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Grade process exercises by what the program did.")
image_app = typer.Typer(no_args_is_help=True, help="The runtime image submissions run in.")
app.add_typer(image_app, name="image")
out = Console(highlight=False, soft_wrap=False)
err = Console(stderr=True, highlight=False)


class Format(enum.StrEnum):
    text = "text"
    json = "json"


def _version(value: bool) -> None:
    if value:
        from grader import judge_version

        # results are stored under the judge's version: it changes whenever a check or the parser does
        print(f"grade {__version__} (judge {judge_version()})")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Grade process exercises by what the program did."""


def settings_from(**overrides: Any) -> Settings:
    return load_settings(**overrides)


def make_sandbox(settings: Settings, *, ci: bool = False) -> Any:
    """The sandbox the settings name; `ci`: `grade ci`, the one command that may fall back to none on its own."""
    from grader.sandbox import select

    with err.status("preparing the sandbox…") as status:
        return select(settings.sandbox, settings, progress=lambda msg: status.update(msg), ci=ci)


@app.command("list")
def list_() -> None:
    """List the exercises."""
    for ex in registry().values():
        out.print(f"ex{ex.number}  {ex.name:<12} {ex.title}  ({ex.max_score:g} points)")


@app.command()
def show(exercise: Annotated[str, typer.Argument(help="ex1, 1 or fork")]) -> None:
    """Print an exercise's statement."""
    ex = resolve(exercise)
    text = statement(ex)
    if text is None:
        raise GraderError(f"no statement found for {ex.id} — run from a course checkout (it has {ex.folder}/README.md)")
    from rich.markdown import Markdown

    out.print(Markdown(text))
    out.print(f"\n[bold]Checks[/] ({ex.max_score:g} points)")
    for c in ex.checks:
        note = "  [dim](once the program creates a process)[/]" if c.tidy else ""
        out.print(f"  {c.points:>4g}  {c.title}{note}", highlight=False)


@app.command()
def submit(
    exercise: Annotated[str, typer.Argument(help="ex1, 1 or fork")],
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", help="the program to grade [default: exercises/<ex>/solution.py of this course]"),
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", help="text or json")] = Format.text,
    tree: Annotated[
        bool | None,
        typer.Option("--tree/--no-tree", help="draw the process tree the checks saw [default: when a check fails]"),
    ] = None,
    timeout: Annotated[float | None, typer.Option(help="wall-clock limit in seconds")] = None,
    sandbox: Annotated[str | None, typer.Option(help="docker, none or auto")] = None,
    pids: Annotated[int | None, typer.Option(help="processes and threads allowed")] = None,
    memory_mb: Annotated[int | None, typer.Option(help="memory limit in MiB (swap included)")] = None,
    cpus: Annotated[float | None, typer.Option(help="CPU quota")] = None,
    output_bytes: Annotated[int | None, typer.Option(help="stdout/stderr bytes kept")] = None,
    grace: Annotated[float | None, typer.Option(help="seconds processes may outlive main")] = None,
) -> None:
    """Grade one exercise: exit 0 at full marks, 1 otherwise."""
    from grader.grading import grade, load_submission, precheck, rejected
    from grader.reports.text import render

    ex = resolve(exercise)
    if file is None:
        root = course_root()
        if root is None:
            raise SubmissionError(
                "not in a course checkout (no exercises/ folder here or above) — cd into it, or pass --file"
            )
        file = root / ex.folder / "solution.py"
    source = load_submission(file)
    settings = settings_from(
        timeout_s=timeout,
        sandbox=sandbox,
        pids=pids,
        memory_mb=memory_mb,
        cpus=cpus,
        output_bytes=output_bytes,
        grace_s=grace,
    )
    problem = precheck(source, file.name)  # before any container: a syntax error needs no sandbox
    if problem is not None:
        report = rejected(ex, problem, name=file.name, source=source)
    else:
        report = grade(ex, source, sandbox=make_sandbox(settings), settings=settings, name=file.name)
    report.submission = str(file)
    if fmt is Format.json:
        print(report.model_dump_json(indent=2, exclude=None if tree else {"tree"}))
    else:
        # the picture helps most when something is wrong: drawn then unless --no-tree
        render(report, console=out, tree=not report.full_marks if tree is None else tree, title=str(file))
    raise typer.Exit(0 if report.status == "passed" else 1)


@image_app.command("build")
def image_build(
    bootstrap: Annotated[
        bool, typer.Option("--bootstrap", help="build the base from Debian's archive (no registry needed)")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="rebuild even if the image is up to date")] = False,
) -> None:
    """Build the runtime image (reused when up to date)."""
    from grader.image.build import ensure_image
    from grader.sandbox.docker import connect

    client = connect()
    with err.status("checking the image…") as status:
        tag = ensure_image(client, bootstrap=bootstrap or None, force=force, progress=lambda msg: status.update(msg))
    out.print(tag)


@image_app.command("name")
def image_name() -> None:
    """Print the runtime image's tag."""
    from grader.image.build import image_tag

    out.print(load_settings().image or image_tag())


@app.command()
def clean() -> None:
    """Remove what a killed grader left behind: its containers and, after an hour, its temporary folders."""
    from grader.cleanup import remove_stale_folders
    from grader.sandbox.docker import connect, remove_strays

    out.print(f"removed {remove_stale_folders()} stale temporary folder(s)")  # needs no engine: first
    out.print(f"removed {remove_strays(connect())} stray container(s)")


# Command groups that live in their own modules: each defines register(app).
for _name in ("doctor", "batch", "ci"):
    if importlib.util.find_spec(f"grader.commands.{_name}") is not None:
        importlib.import_module(f"grader.commands.{_name}").register(app)


def main() -> None:
    """Entry point: the one place errors become messages and exit codes."""
    try:
        rc = app(standalone_mode=False)
        sys.exit(rc if isinstance(rc, int) else 0)
    except GraderError as e:
        err.print(Text.assemble(("error:", "bold red"), f" {e}"), soft_wrap=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(130)
    except Exception as e:  # noqa: BLE001 — the last resort: a bug in the grader, not the user's fault
        import click

        # typer >= 0.20 raises its vendored copy of click's exceptions, not click's own
        if isinstance(e, click.exceptions.ClickException) or type(e).__module__.startswith("typer._click"):
            e.show()  # type: ignore[attr-defined]
            sys.exit(2)
        log = Path.home() / ".cache" / "grade" / "crash.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(traceback.format_exc())
        err.print(
            Text.assemble(("unexpected error:", "bold red"), f" {type(e).__name__}: {e} — please report it with {log}"),
            soft_wrap=True,
        )
        sys.exit(3)
