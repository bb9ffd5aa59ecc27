"""How fast the CLI answers, measured in one run: `grade --version`, `grade list` and `grade --help` against a
bare `python3 -c pass` and `python3 -c "import typer"` (the floor: typer is needed to parse a command line).
Medians of N runs, interleaved so a busy machine slows every command alike; then what `--version` imports."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bytecode import compiled

ROOT = Path(__file__).resolve().parent.parent
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 15
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
COMMANDS = {
    "python3 -c pass": [sys.executable, "-c", "pass"],
    "python3 -c 'import typer'": [sys.executable, "-c", "import typer"],
    "grade --version": [sys.executable, "-m", "grader", "--version"],
    "grade list": [sys.executable, "-m", "grader", "list"],
    "grade --help": [sys.executable, "-m", "grader", "--help"],
}
HEAVY = ("rich", "pydantic", "pydantic_settings", "docker", "grader.packs", "grader.settings")


def _once(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=ENV, cwd=ROOT, capture_output=True, check=True)
    return time.perf_counter() - t0


def timings() -> dict[str, float]:
    compiled()
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for cmd in COMMANDS.values():
        _once(cmd)  # warm-up: page cache, .pyc files
    for _ in range(RUNS):
        for name, cmd in COMMANDS.items():
            times[name].append(_once(cmd))
    return {name: statistics.median(t) for name, t in times.items()}


def imported_by_version() -> list[str]:
    """The heavy packages `grade --version` imports (from `python3 -X importtime`)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "grader", "--version"], env=ENV, cwd=ROOT, capture_output=True
    )
    names = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.decode().splitlines() if "|" in line}
    return sorted({h for h in HEAVY for n in names if n == h or n.startswith(h + ".")})


def main() -> None:
    med = timings()
    bare, floor = med["python3 -c pass"], med["python3 -c 'import typer'"]
    print(f"medians of {RUNS} runs (interleaved):")
    for name, t in med.items():
        print(
            f"  {name:<28} {t * 1000:7.0f} ms   {t / bare:4.2f}x bare python   +{(t - floor) * 1000:5.0f} ms over typer"
        )
    print(f"heavy modules imported by grade --version: {', '.join(imported_by_version()) or 'none'}")


if __name__ == "__main__":
    main()
