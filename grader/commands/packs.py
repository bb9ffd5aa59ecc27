"""`grade verify`, `grade new` and `grade release`: an author's commands for exercise packs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from grader.cli import PackOption, use_packs
from grader.errors import GraderError

if TYPE_CHECKING:
    from grader.catalog import Exercise
    from grader.verify import Mode, Proof


def chosen(names: list[str], packs: list[Path] | None) -> list[Exercise]:
    """The exercises named, else every exercise of the --pack folders given, else every exercise found."""
    from grader.catalog import registry, resolve
    from grader.packs import find

    use_packs(packs)
    if names:
        return [resolve(n) for n in names]
    exercises = list(registry().values())
    if packs:
        dirs = {p.exercises_dir for p in find(tuple(q.expanduser().resolve() for q in packs)) if p.origin == "--pack"}
        exercises = [ex for ex in exercises if ex.home is not None and ex.home.parent in dirs]
    if not exercises:
        raise GraderError("no exercise to verify — pass --pack PATH, or name the exercises")
    return exercises


def _row(proof: Proof) -> str:
    """One line per exercise: each kind of case as held/total, then the verdict."""
    h, t = proof.held, proof.total
    parts = [f"{k} {h[k]}/{t[k]}" for k in ("reference", "stub", "fail", "pass")]
    verdict = "ok" if proof.ok else f"{len(proof.problems)} problem(s)"
    return f"{proof.exercise.id:<18} {'  '.join(parts)}  {verdict}"


def report(proofs: list[Proof]) -> int:
    """Print the table (one line per exercise, one indented line per problem); 0 only when everything held."""
    from grader.neutralise import terminal

    print(f"{'exercise':<18} reference (3 start methods), stub fails, fail__ fail their check, pass__ pass")
    for proof in proofs:
        print(_row(proof))
        for line in proof.problems:
            print("    " + terminal(line))
    return 0 if all(p.ok for p in proofs) else 1


def run_verify(names: list[str], packs: list[Path] | None, mode: Mode, jobs: int | None) -> int:
    from grader.cli import console, make_sandbox, settings_from
    from grader.packs import pack_of
    from grader.verify import cases, verify

    exercises = chosen(names, packs)
    extra = tuple(p.expanduser().resolve() for p in packs or [])
    settings = settings_from()
    sandbox = None if mode == "replay" else make_sandbox(settings)
    pairs = []
    for ex in exercises:
        pack = pack_of(ex, extra)
        pairs.append((ex, pack.solutions if pack is not None else None))
    total = sum(len(cases(ex, solutions)[0]) for ex, solutions in pairs)
    done = 0
    with console(stderr=True).status(f"verifying {len(pairs)} exercise(s): {total} runs…") as status:

        def progress(what: str) -> None:
            nonlocal done
            done += 1
            status.update(f"verifying: {done}/{total} {what}")

        proofs = verify(pairs, mode=mode, sandbox=sandbox, settings=settings, jobs=jobs, progress=progress)
    return report(proofs)


def register(app: typer.Typer) -> None:
    @app.command()
    def verify(
        exercise: Annotated[list[str] | None, typer.Argument(help="exercises to verify [default: all]")] = None,
        pack: PackOption = None,
        record: Annotated[bool, typer.Option("--record", help="keep each run's outcome next to its file")] = False,
        replay: Annotated[
            bool, typer.Option("--replay", help="re-judge the recorded outcomes: no container runs")
        ] = False,
        jobs: Annotated[int | None, typer.Option("--jobs", "-j", min=1, help="runs at a time")] = None,
    ) -> None:
        """Prove exercises: the reference gets full marks under fork, spawn and forkserver, the stub scores 0,
        every fail__<check>__ example fails that check, every pass__ example passes. Exit 0 when all hold."""
        if record and replay:
            raise GraderError("--record and --replay exclude each other — record once, then replay")
        mode: Mode = "record" if record else "replay" if replay else "run"
        raise typer.Exit(run_verify(exercise or [], pack, mode, jobs))

    @app.command()
    def new(
        exercise: Annotated[str, typer.Argument(help="the new exercise's id, e.g. ex42_demo")],
        pack: Annotated[Path, typer.Option("--pack", help="the pack folder (made when missing)")] = Path("."),
    ) -> None:
        """Scaffold a new exercise that verifies as generated: checks, statement, stub, reference, examples."""
        from grader.scaffold import new_exercise

        for path in new_exercise(exercise, pack):
            print(path)
        print(f"next: grade verify {exercise} --pack {pack}", file=sys.stderr)

    @app.command()
    def release(
        out: Annotated[Path, typer.Option("--out", help="folder to write the students' copy into")],
        pack: PackOption = None,
    ) -> None:
        """Write the student-facing tree: each exercise's statement and stub, never checks or references."""
        from grader.scaffold import release as write

        exercises = chosen([], pack)
        homes = [(ex.id, ex.home) for ex in exercises if ex.home is not None]
        written = write(homes, out)
        print(f"wrote {len(written)} files for {len(homes)} exercises into {out}")
