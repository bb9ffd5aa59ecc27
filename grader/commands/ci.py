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
    line = f"{r.exercise:<16} {r.status:<8} {r.score:g}/{r.max_score:g}"
    return line + (f"  {r.reason}" if r.reason else "")


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
    chosen = selected(exercises)
    settings = settings_from(timeout_s=timeout, sandbox=sandbox)
    box = make_sandbox(settings, ci=True)
    notice = getattr(box, "notice", None)  # already said on stderr; Gradescope shows it beside the results
    reports = grade_course(root, chosen, sandbox=box, settings=settings, jobs=jobs)
    for r in reports:  # plain lines on stderr: stdout may carry TAP or workflow commands
        print(_summary_line(r), file=sys.stderr)
    score, maximum = total(reports)
    print(f"total {score:g}/{maximum:g}", file=sys.stderr)
    if junit is not None:
        junit.write_text(junit_fmt.render(reports), encoding="utf-8")
    if gradescope is not None:
        gradescope.parent.mkdir(parents=True, exist_ok=True)
        gradescope.write_text(gradescope_fmt.render(reports, notice=notice), encoding="utf-8")
    if tap:
        print(tap_fmt.render(reports), end="")
    if github if github is not None else os.environ.get("GITHUB_ACTIONS") == "true":
        for line in github_fmt.write(reports):
            print(line)
    if classroom and (result := classroom_fmt.write(reports)) is not None:
        print(result)
    return exit_code(reports, min_score)


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
            )
        )

    @app.command("init-ci")
    def init_ci(
        target: Annotated[str, typer.Argument(help="github, gitlab or gradescope")],
        out: Annotated[Path, typer.Option(help="folder to write into")] = Path("."),
        install: Annotated[str | None, typer.Option(help="pip requirement that installs the grader")] = None,
        wheels: Annotated[bool, typer.Option("--wheels/--no-wheels", help="bundle wheels (gradescope)")] = True,
    ) -> None:
        """Write a ready CI set-up: a GitHub workflow, a GitLab job, or a Gradescope autograder zip."""
        from grader.ci_templates import write
        from grader.cli import out as console

        for path in write(target, out, install=install, bundle_wheels=wheels):
            console.print(str(path), highlight=False)
