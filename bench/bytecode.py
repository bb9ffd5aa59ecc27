"""Benchmarks time the grader as installed: pip byte-compiles what it installs, a checkout run with
PYTHONDONTWRITEBYTECODE (CI machines set it) would compile every module on every command instead."""

from __future__ import annotations

import compileall
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def compiled() -> None:
    for folder in ("grader", "exercises"):
        compileall.compile_dir(ROOT / folder, quiet=1)
