"""A `grade submit` command line read before the CLI loads, so its run can start at once (grader/entry.py).

The reader knows the submit options and nothing else: an option it does not know, `--help`, a second
argument, a value it cannot place, and it gives up, and the CLI does everything the ordinary way. What it
starts is only a guess until the CLI's submit command, having parsed the same line for real, asks `adopt`
for a run started from exactly its exercise name, file, settings and packs; any other run is stopped, and
so is one nobody asks for (the CLI refused the line): its container is removed when the process ends.
"""

from __future__ import annotations

import atexit
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grader.early_start import Started
    from grader.settings import Settings

# submit's options that take a value: the setting each one sets ("" for those that set none)
VALUED = {
    "--file": "",
    "-f": "",
    "--format": "",
    "--pack": "",
    "--timeout": "timeout_s",
    "--sandbox": "sandbox",
    "--pids": "pids",
    "--memory-mb": "memory_mb",
    "--cpus": "cpus",
    "--output-bytes": "output_bytes",
    "--grace": "grace_s",
}
FLAGS = {"--tree", "--no-tree"}


@dataclass(frozen=True)
class SubmitArgs:
    exercise: str
    file: Path | None
    overrides: dict[str, str]  # setting -> the flag's text
    packs: tuple[Path, ...]


def read(argv: list[str]) -> SubmitArgs | None:
    """The arguments after `submit`, or None when anything is not plainly a submit option."""
    positional: list[str] = []
    values: dict[str, list[str]] = {}
    words = iter(argv)
    for word in words:
        option, eq, value = word.partition("=")
        if option in VALUED and word.startswith("-"):
            value = value if eq else next(words, None)  # type: ignore[assignment]
            if value is None or (not eq and value.startswith("-")):
                return None
            values.setdefault(option, []).append(value)
        elif word in FLAGS:
            continue
        elif word.startswith("-") or positional:
            return None
        else:
            positional.append(word)
    if len(positional) != 1 or any(len(v) > 1 for k, v in values.items() if k != "--pack"):
        return None
    files = values.get("--file", []) + values.get("-f", [])
    if len(files) > 1:
        return None
    overrides = {VALUED[k]: v[0] for k, v in values.items() if VALUED[k]}
    packs = tuple(dict.fromkeys(Path(p).expanduser().resolve() for p in values.get("--pack", [])))
    return SubmitArgs(positional[0], Path(files[0]) if files else None, overrides, packs)


@dataclass
class Speculation:
    args: SubmitArgs
    settings: Settings
    started: Started


_pending: list[Speculation] = []


def speculate(argv: list[str]) -> None:
    """Start the run of a plain `grade submit` command line; anything unclear starts nothing."""
    try:
        spec = _started(argv)
    except Exception:  # noqa: BLE001 — a guess only: the CLI will report any problem in its own words
        return
    if spec is not None:
        _pending.append(spec)
        atexit.register(_drop_unclaimed)  # SIGTERM is already an interrupt: the run's own doing


def _started(argv: list[str]) -> Speculation | None:
    from grader.early_start import peek, solution_file, start
    from grader.settings import load
    from grader.submission import load_submission, precheck

    args = read(argv)
    if args is None:
        return None
    settings = load(**args.overrides)
    needs = peek(args.exercise, args.packs)
    if needs is None or settings.sandbox not in ("auto", "docker"):
        return None
    file = args.file or solution_file(needs.id)
    source = load_submission(file)
    if precheck(source, file.name, max_bytes=settings.source_bytes) is not None:
        return None
    sandbox = _ready_sandbox(settings)
    if sandbox is None:
        return None
    return Speculation(args, settings, start(needs, source, file, settings, sandbox))


def _ready_sandbox(settings: Settings) -> Any:
    """The Docker sandbox when its engine answers and its image is built; building belongs to the CLI."""
    from grader.image.tag import image_tag
    from grader.sandbox.docker import DockerSandbox, connect_engine

    engine = connect_engine(timeout=2)
    image = settings.image or image_tag()
    if not engine.image_exists(image):
        return None
    return DockerSandbox(settings, engine=engine, image=image)  # checked once: no second round trip


def adopt(exercise: str, file: Path | None, settings: Settings, packs: tuple[Path, ...]) -> Started | None:
    """The run started from exactly this submit (name, file, settings, packs), taken over; any other is stopped."""
    if not _pending:
        return None
    spec = _pending.pop()
    if (spec.args.exercise, spec.args.file, spec.settings, spec.args.packs) == (exercise, file, settings, packs):
        return spec.started
    spec.started.run.cancel()
    return None


def _drop_unclaimed() -> None:
    """At exit: a run the CLI never took over (it refused the command line) is stopped, its container removed."""
    while _pending:
        _pending.pop().started.run.cancel()
