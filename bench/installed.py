"""The grader as a user installs it: this checkout built into a wheel and installed in a venv of its own.

A venv reads only its own site-packages, so the command runs without the checkout on its path and without
whatever the machine's interpreter loads at start-up (.pth hooks, an editable install's import finder).
The venv is kept in bench/.venv (dependencies installed once); the wheel is rebuilt and reinstalled on
every call, so the figure is always this checkout's."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "bench" / ".venv"


def installed_grade() -> Path:
    """The `grade` command of a venv holding this checkout's wheel."""
    python = VENV / "bin" / "python"
    if not python.exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    with tempfile.TemporaryDirectory() as dist:
        _quiet([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", dist, str(ROOT)])
        wheel = str(next(Path(dist).glob("*.whl")))
        _quiet([str(python), "-m", "pip", "install", "-q", wheel])
        # the same wheel again, over the last one: the venv's dependencies stay, the grader is this checkout's
        _quiet([str(python), "-m", "pip", "install", "-q", "--force-reinstall", "--no-deps", wheel])
    return VENV / "bin" / "grade"


def _quiet(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, capture_output=True)
