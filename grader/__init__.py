"""grade: an autograder that judges process exercises by what the program did."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

__version__ = "0.1.0"

_HERE = Path(__file__).resolve().parent
# what does not decide a verdict: the command line, output formats, CI set-ups
_NOT_JUDGING = (
    "reports",
    "commands",
    "ci_templates",
    "cli.py",
    "error_handler.py",
    "neutralise.py",
    "verify.py",
    "scaffold.py",
    "__main__.py",
    "__pycache__",
)


@cache
def judge_version() -> str:
    """The engine's version: the release plus a digest of everything in the engine that decides a verdict
    (parser, checks library, pack loader, settings' defaults, the image's sources). A result is stored under
    this plus its exercise's own digest (catalog.Exercise.judge_version): a batch regrades what an older judge
    graded, even when a changed check ships under the same release number, and only that exercise's cells."""
    digest = hashlib.sha256()
    for path in sorted(_HERE.rglob("*")):
        rel = path.relative_to(_HERE)
        if path.is_file() and rel.parts[0] not in _NOT_JUDGING and path.suffix not in (".pyc",):
            digest.update(rel.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return f"{__version__}+{digest.hexdigest()[:10]}"
