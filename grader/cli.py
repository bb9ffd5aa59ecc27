"""The `grade` command: parses options, calls the core, turns results and errors into exit codes.

Only typer is imported up front: each command imports what it needs when it runs (rich, pydantic, the
exercises, the docker SDK), and the command groups in grader/commands/ load when one of their commands is
called, so `grade --version` answers at once."""

from __future__ import annotations

import enum
import functools
import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from grader import __version__
from grader.error_handler import run
from grader.errors import GraderError

if TYPE_CHECKING:
    from rich.console import Console

    from grader.settings import Settings

# The command groups of grader/commands/ (each module defines register(app)), by command name.
LAZY_COMMANDS = {
    "doctor": "grader.commands.doctor",
    "batch": "grader.commands.batch",
    "export": "grader.commands.batch",
    "feedback": "grader.commands.batch",
    "report": "grader.commands.batch",
    "ci": "grader.commands.ci",
    "init-ci": "grader.commands.ci",
    "verify": "grader.commands.packs",
    "new": "grader.commands.packs",
    "release": "grader.commands.packs",
    "worker": "grader.commands.worker",
}


class LazyGroup(TyperGroup):
    """Click's lazily loaded subcommands: a command of LAZY_COMMANDS is built from its module on first use."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in LAZY_COMMANDS if n not in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands and cmd_name in LAZY_COMMANDS:
            self.commands.update(_commands_of(LAZY_COMMANDS[cmd_name]))
        return super().get_command(ctx, cmd_name)


@functools.cache
def _commands_of(module: str) -> dict[str, Any]:
    group = typer.Typer()
    importlib.import_module(module).register(group)
    return dict(typer.main.get_group(group).commands)


@functools.cache
def console(*, stderr: bool = False) -> Console:
    """The rich console for stdout or stderr, made on first use (rich costs a tenth of a second to import)."""
    from rich.console import Console

    return Console(stderr=True, highlight=False) if stderr else Console(highlight=False, soft_wrap=False)


def __getattr__(name: str) -> Any:
    # `out` and `err`, as other modules import them, without making a console at import time
    if name in ("out", "err"):
        return console(stderr=name == "err")
    raise AttributeError(name)


app = typer.Typer(
    cls=LazyGroup, no_args_is_help=True, add_completion=False, help="Grade process exercises by what the program did."
)
image_app = typer.Typer(no_args_is_help=True, help="The runtime image submissions run in.")
app.add_typer(image_app, name="image")


# --pack, for every command that looks exercises up: a pack folder beside the installed ones and GRADE_PACKS
PackOption = Annotated[
    list[Path] | None,
    typer.Option("--pack", help="an exercise pack folder to use besides the installed ones (repeatable)"),
]


def use_packs(paths: list[Path] | None) -> None:
    from grader.catalog import use_packs

    use_packs([p.expanduser().resolve() for p in paths or []])


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
    from grader.settings import load

    return load(**overrides)


def make_sandbox(settings: Settings, *, ci: bool = False) -> Any:
    """The sandbox the settings name; `ci`: `grade ci`, the one command that may fall back to none on its own."""
    from grader.sandbox import select

    with LazyStatus() as status:
        return select(settings.sandbox, settings, progress=status.update, ci=ci)


class LazyStatus:
    """A spinner on stderr that appears with the first message: most sandboxes are ready without one (the image
    is built), and the terminal library is not imported before the run starts."""

    def __init__(self) -> None:
        self._status: Any = None

    def update(self, message: str) -> None:
        if self._status is None:
            self._status = console(stderr=True).status(message)
            self._status.start()
        self._status.update(message)

    def __enter__(self) -> LazyStatus:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.stop()


@app.command("list")
def list_(pack: PackOption = None) -> None:
    """List the exercises, and the pack each comes from."""
    from grader.catalog import registry

    use_packs(pack)
    for ex in registry().values():
        print(f"ex{ex.number}  {ex.name:<12} {ex.title}  ({ex.max_score:g} points)  [pack {ex.pack}: {ex.id}]")


@app.command()
def show(exercise: Annotated[str, typer.Argument(help="ex1, 1 or fork")], pack: PackOption = None) -> None:
    """Print an exercise's statement."""
    from grader.catalog import resolve, statement

    use_packs(pack)
    out = console()
    ex = resolve(exercise)
    text = statement(ex)
    if text is None:
        raise GraderError(f"no statement found for {ex.id} — run from a course checkout (it has {ex.folder}/README.md)")
    from rich.markdown import Markdown

    out.print(Markdown(text))
    out.print(f"\n[bold]Checks[/] ({ex.max_score:g} points)")
    for c in ex.checks:
        note = "  [dim](once the program creates a process or thread)[/]" if c.tidy else ""
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
    pack: PackOption = None,
) -> None:
    """Grade one exercise: exit 0 at full marks, 1 otherwise."""
    from grader.catalog import extra_packs
    from grader.early_start import graded_file

    use_packs(pack)
    settings = settings_from(
        timeout_s=timeout,
        sandbox=sandbox,
        pids=pids,
        memory_mb=memory_mb,
        cpus=cpus,
        output_bytes=output_bytes,
        grace_s=grace,
    )
    renderer = ("grader.reports.text",) if fmt is Format.text else ()  # imported while the program runs
    report, file = graded_file(exercise, file, settings, make_sandbox, extra_packs(), preload=renderer)
    report.submission = str(file)
    if fmt is Format.json:
        from grader.neutralise import json_text

        print(json_text(report.model_dump_json(indent=2, exclude=None if tree else {"tree"})))
    else:
        from grader.reports.text import render

        # the picture helps most when something is wrong: drawn then unless --no-tree
        render(report, console=console(), tree=not report.full_marks if tree is None else tree, title=str(file))
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
    with console(stderr=True).status("checking the image…") as status:
        tag = ensure_image(client, bootstrap=bootstrap or None, force=force, progress=lambda msg: status.update(msg))
    print(tag)


@image_app.command("name")
def image_name() -> None:
    """Print the runtime image's tag."""
    from grader.image.tag import image_tag

    print(settings_from().image or image_tag())


@app.command()
def clean() -> None:
    """Remove what a killed grader left behind: its containers and, after an hour, its temporary folders."""
    from grader.cleanup import remove_stale_folders
    from grader.sandbox.docker import connect_engine, remove_strays

    print(f"removed {remove_stale_folders()} stale temporary folder(s)")  # needs no engine: first
    print(f"removed {remove_strays(connect_engine())} stray container(s)")


def main() -> None:
    """Entry point: the one place errors become messages and exit codes (grader/error_handler.py)."""
    sys.exit(run(app))
