"""The one error handler: how every way a command can end becomes a message and an exit code.

0 done (full marks), 1 graded below full marks or a batch with infrastructure errors left, 2 a problem the
user can fix (one line), 3 a bug in the grader (one line naming a crash log that holds the traceback), 130
interrupted. A crash must never exit 1, which reads as "graded, below full marks".
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from grader.errors import GraderError


def _say(label: str, message: str) -> None:
    """One line on stderr: a red label, then the message as text (never markup), control characters visible."""
    from rich.text import Text

    from grader.cli import console
    from grader.neutralise import terminal

    console(stderr=True).print(Text.assemble((label, "bold red"), terminal(f" {message}")), soft_wrap=True)


def crash_log(trace: str) -> Path | None:
    """Write the traceback to a new file in the user's cache folder, or the temp folder when that cannot be
    written; None when neither can."""
    import tempfile
    import time

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "grade"
    name = f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    for folder in (cache, Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(trace, encoding="utf-8")
            return folder / name
        except OSError:
            continue
    return None


def _is_usage_error(e: Exception) -> bool:
    """typer raises click's exceptions (its own vendored copy since typer 0.20, click's before): found through
    typer's BadParameter, so this never imports click, which may not be installed."""
    click_exception = next((c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"), None)
    return click_exception is not None and isinstance(e, click_exception)


def _crash(e: Exception) -> int:
    import traceback

    trace = traceback.format_exc()
    log = crash_log(trace)
    where = f"please report it with {log}" if log else "no crash log could be written; the traceback follows"
    try:
        _say("unexpected error:", f"{type(e).__name__}: {e} — {where}")
    except Exception:  # noqa: BLE001 — the console itself is broken: still one line, still exit 3
        print(f"unexpected error: {type(e).__name__} — {where}", file=sys.stderr)
    if log is None:
        sys.stderr.write(trace)
    return 3


def run(app: typer.Typer) -> int:
    """Run the app; return its exit code."""
    try:
        rc = app(standalone_mode=False)  # typer turns Ctrl-C into Exit(130) itself
        return rc if isinstance(rc, int) else 0
    except GraderError as e:
        _say("error:", str(e))
        return e.exit_code
    except (KeyboardInterrupt, typer.Abort):
        print("interrupted", file=sys.stderr)
        return 130
    except typer.Exit as e:
        return e.exit_code
    except Exception as e:  # noqa: BLE001 — the last resort: a bug in the grader, not the user's fault
        if _is_usage_error(e):
            e.show()  # type: ignore[attr-defined]
            return 2
        return _crash(e)
