"""SIGTERM (a closed terminal, a CI cancel) as Ctrl-C, and stopping a sandbox's runs from another thread.

Each command that has containers running turns SIGTERM into KeyboardInterrupt in its main thread for as long as
they run, so its clean-up removes them instead of the process dying with them still running.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any


def sigterm_as_interrupt() -> Any:
    """Make SIGTERM raise KeyboardInterrupt in the main thread; the handler it replaces (None elsewhere, where no
    handler can be set)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _interrupt)


def restore(previous: Any) -> None:
    """Put back the SIGTERM handler `sigterm_as_interrupt` replaced."""
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    previous = sigterm_as_interrupt()
    try:
        yield
    finally:
        restore(previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def stop_runs(sandbox: Any) -> int:
    """Remove the containers `sandbox` is running, if it can (the Docker sandbox can); how many."""
    stop_all = getattr(sandbox, "stop_all", None)
    return int(stop_all()) if callable(stop_all) else 0
