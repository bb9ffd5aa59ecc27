"""The `grade` console script: a plain `grade submit` starts its container before the CLI library loads.

The command-line library (and the validation library under it) takes longer to import than the container
takes to start. So the arguments of a `grade submit` are read here first, by a reader that knows only the
submit options and gives up on anything else; the run starts; then the CLI parses the same arguments for
real, and its submit command adopts the run only if it would have started exactly that run (grader/
early_start.py). Every other command, and every submit this reader is unsure of, goes to the CLI untouched.
The process ends without tearing down its modules once only its main thread is left (atexit handlers run).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "submit":
        from grader.early_args import speculate

        speculate(sys.argv[2:])
    from grader.cli import main as cli_main

    try:
        cli_main()
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        leave(code)


def leave(code: int) -> None:
    """Exit with `code`. With no other thread left, skip the interpreter's teardown of every module (a tenth of
    a second after a grade): output is flushed and the atexit handlers run, as in a normal exit."""
    if threading.active_count() > 1:
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (`grade ... | head`): nothing to write to
            stream.flush()
    os._exit(code)
