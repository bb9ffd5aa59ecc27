"""A submission's bytes, and whether they can run at all: checked before any container starts.

Light on purpose (no report model, no sandbox): `grade submit` reads and checks the file before it starts the
container, and everything imported here delays that start.
"""

from __future__ import annotations

from pathlib import Path

from grader.errors import SubmissionError
from grader.settings import Settings


def load_submission(path: Path) -> bytes:
    """The submission's bytes, or one clear line saying why they cannot be had."""
    if not path.exists():
        raise SubmissionError(f"no file at {path} — pass the file with --file, or run from your course copy")
    if path.is_dir():
        raise SubmissionError(f"{path} is a folder — pass the solution's .py file with --file")
    if not path.is_file():  # a FIFO or device would block or never end
        raise SubmissionError(f"{path} is not a regular file — pass the solution's .py file with --file")
    try:
        return path.read_bytes()
    except OSError as err:
        raise SubmissionError(f"cannot read {path}: {err.strerror} — check the file's permissions") from err


SOURCE_BYTES: int = Settings.default("source_bytes")


def precheck(source: bytes, name: str = "solution.py", *, max_bytes: int | None = None) -> str | None:
    """Why the file cannot run at all (checked before any container starts), or None.

    The size comes first: decoding and compiling a 5 MB file cost 2 GB of memory and seconds of CPU."""
    limit = SOURCE_BYTES if max_bytes is None else max_bytes
    if len(source) > limit:
        return (
            f"{name} is {len(source):,} bytes, over the limit of {limit:,} bytes ({limit >> 10} KiB) "
            "— is it the right file?"
        )
    try:
        text = source.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        return f"{name} is not UTF-8 text (byte {err.start}) — save it as UTF-8"
    if not text.strip():
        return f"{name} is empty — write your solution in it"
    try:
        compile(text, name, "exec", dont_inherit=True)
    except SyntaxError as err:
        return f"syntax error in {name} line {err.lineno}: {err.msg}"
    except ValueError as err:  # e.g. NUL bytes
        return f"{name} cannot be compiled: {err}"
    return None
