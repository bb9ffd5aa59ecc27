"""`grade ci` (grade a course checkout for CI, in its formats) and `grade init-ci` (write a CI set-up)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from grader.errors import GraderError
from grader.report import Report


def _summary_line(r: Report) -> str:
    from grader.neutralise import one_line, workflow

    # stderr is in the CI log too: the reason quotes the student, so it is one inert line
    line = f"{r.exercise:<16} {r.status:<8} {r.score:g}/{r.max_score:g}"
    return workflow(one_line(line + (f"  {r.reason}" if r.reason else "")))


def _clean(text: str) -> str:
    """One line, whatever a reason holds (engine messages carry newlines, a program's text carries escapes)."""
    return "".join(ch if ch.isprintable() else " " for ch in text)


def _check_writable(path: Path, option: str) -> None:
    """Before any grading: an output that cannot be written is one clear line now, not a crash after the runs."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise GraderError(f"cannot write {option} {path}: {e.strerror} — pick another path") from None
    if path.is_dir():
        raise GraderError(f"cannot write {option} {path}: it is a folder — pass a file path")
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise GraderError(f"cannot write {option} {path}: permission denied — pick another path")


def _write(path: Path, text: str, option: str) -> bool:
    """Write one output; a failure is one line on stderr and the other outputs are still written."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as e:
        print(f"grade: error: cannot write {option} {path}: {e.strerror} — pick another path", file=sys.stderr)
        return False
    return True


def _say_faults(reports: list[Report]) -> None:
    """One line on stderr when the grader failed on any exercise: the run's exit 2 says it to the machine."""
    from grader.ci import grader_faults

    if faults := grader_faults(reports):
        names = ", ".join(r.exercise for r in faults)
        line = (
            f"grade: infrastructure error: the grader could not judge {names} ({faults[0].reason}) — "
            "not the submission's fault; publish no grade from this run (exit 2)"
        )
        print(_clean(line), file=sys.stderr)


def outside_the_checkout(root: Path, packs: list[Path] | None) -> None:
    """Checks come only from installed packs and the workflow's --pack, never from the tree being graded: a
    student who edits a copy of the checks in the checkout must not be judged by them."""
    from grader.cli import use_packs
    from grader.packs import find

    use_packs(packs)
    extra = tuple(p.expanduser().resolve() for p in packs or [])
    for pack in find(extra):
        if pack.exercises_dir.is_relative_to(root.resolve()):
            raise GraderError(
                f"the exercise pack {pack.name} ({pack.origin}) is inside the checkout being graded "
                f"({pack.exercises_dir}) — in CI, checks come only from installed packs or a --pack outside it"
            )


def run_ci(
    *,
    exercises: list[str],
    junit: Path | None,
    gradescope: Path | None,
    classroom: bool,
    tap: bool,
    github: bool | None,
    min_score: float | None,
    sandbox: str | None,
    jobs: int | None,
    timeout: float | None,
    packs: list[Path] | None = None,
) -> int:
    """Grade, write every requested format, and return the exit code (0 reached min-score, 1 not)."""
    from grader.catalog import course_root
    from grader.ci import exit_code, grade_course, selected, total
    from grader.cli import make_sandbox, settings_from
    from grader.reports import classroom as classroom_fmt
    from grader.reports import github as github_fmt
    from grader.reports import gradescope as gradescope_fmt
    from grader.reports import junit as junit_fmt
    from grader.reports import tap as tap_fmt

    root = course_root()
    if root is None:
        raise GraderError("not in a course checkout (no exercises/ folder here or above) — run grade ci from its root")
    outside_the_checkout(root, packs)
    chosen = selected(exercises)
    for path, option in ((junit, "--junit"), (gradescope, "--gradescope")):
        if path is not None:
            _check_writable(path, option)
    settings = settings_from(timeout_s=timeout, sandbox=sandbox)
    box = make_sandbox(settings, ci=True)
    notice = getattr(box, "notice", None)  # already said on stderr; Gradescope shows it beside the results
    reports = grade_course(root, chosen, sandbox=box, settings=settings, jobs=jobs)
    for r in reports:  # plain lines on stderr: stdout may carry TAP or workflow commands
        print(_summary_line(r), file=sys.stderr)
    score, maximum = total(reports)
    print(f"total {score:g}/{maximum:g}", file=sys.stderr)
    _say_faults(reports)
    written = True
    if junit is not None:
        written &= _write(junit, junit_fmt.render(reports), "--junit")
    if gradescope is not None:
        written &= _write(gradescope, gradescope_fmt.render(reports, notice=notice), "--gradescope")
    if tap:
        print(tap_fmt.render(reports), end="")
    if github if github is not None else os.environ.get("GITHUB_ACTIONS") == "true":
        for line in github_fmt.write(reports):
            print(line)
    if classroom and (result := classroom_fmt.write(reports)) is not None:
        print(result)
    return exit_code(reports, min_score) if written else 2


def register(app: typer.Typer) -> None:
    @app.command()
    def ci(
        exercise: Annotated[
            list[str] | None, typer.Option("--exercise", "-e", help="grade only these (repeatable)")
        ] = None,
        junit: Annotated[Path | None, typer.Option(help="write JUnit XML here")] = None,
        gradescope: Annotated[Path | None, typer.Option(help="write Gradescope results.json here")] = None,
        classroom: Annotated[
            bool, typer.Option("--classroom", help="GitHub Classroom `result` to $GITHUB_OUTPUT")
        ] = False,
        tap: Annotated[bool, typer.Option("--tap", help="TAP 14 on stdout")] = False,
        github: Annotated[
            bool | None,
            typer.Option("--github/--no-github", help="step summary and annotations [default: on in Actions]"),
        ] = None,
        min_score: Annotated[
            float | None, typer.Option(help="exit 0 from this total score [default: full marks]")
        ] = None,
        sandbox: Annotated[str | None, typer.Option(help="docker, none or auto")] = None,
        jobs: Annotated[int | None, typer.Option(min=1, help="exercises graded at once")] = None,
        timeout: Annotated[float | None, typer.Option(help="wall-clock limit per exercise, in seconds")] = None,
        pack: Annotated[
            list[Path] | None,
            typer.Option("--pack", help="an exercise pack folder outside the checkout (repeatable)"),
        ] = None,
    ) -> None:
        """Grade every exercise of this course checkout for CI: exit 0 at --min-score, 1 below, 2 on errors."""
        raise typer.Exit(
            run_ci(
                exercises=exercise or [],
                junit=junit,
                gradescope=gradescope,
                classroom=classroom,
                tap=tap,
                github=github,
                min_score=min_score,
                sandbox=sandbox,
                jobs=jobs,
                timeout=timeout,
                packs=pack,
            )
        )

    @app.command("init-ci")
    def init_ci(
        target: Annotated[str, typer.Argument(help="github, gitlab or gradescope")],
        out: Annotated[Path, typer.Option(help="folder to write into")] = Path("."),
        install: Annotated[str | None, typer.Option(help="pip requirement that installs the grader")] = None,
        wheels: Annotated[bool, typer.Option("--wheels/--no-wheels", help="bundle wheels (gradescope)")] = True,
        pack: Annotated[
            list[Path] | None,
            typer.Option("--pack", help="an exercise pack folder to install beside the grader, pinned (repeatable)"),
        ] = None,
    ) -> None:
        """Write a ready CI set-up: a GitHub workflow, a GitLab job, or a Gradescope autograder zip."""
        from grader.ci_templates import write
        from grader.cli import out as console

        packs = tuple(p.expanduser().resolve() for p in pack or [])
        for path in write(target, out, install=install, bundle_wheels=wheels, packs=packs):
            console.print(str(path), highlight=False)
