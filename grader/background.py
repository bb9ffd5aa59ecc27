"""A sandbox run in a background thread, so that what judging needs is imported while the container runs.

On `grade submit` the container's start and the program's run take most of the time, and the grader's own
imports (the report model, the trace parser, the terminal renderer) took almost as long again, one after the
other. The run waits on the engine, not on Python: the imports take the time it would spend waiting.
Ctrl-C and SIGTERM in the main thread stop the run's container before they end the command.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from grader.interrupts import restore, sigterm_as_interrupt, stop_runs
from grader.sandbox.base import RunRequest, Sandbox

if TYPE_CHECKING:
    from grader.sandbox.outcome import RunOutcome


class BackgroundRun:
    """`sandbox.run(request)`, started now, its outcome collected by `outcome()`."""

    def __init__(self, sandbox: Sandbox, request: RunRequest) -> None:
        self.sandbox = sandbox
        self.request = request
        self._outcome: RunOutcome | None = None
        self._error: BaseException | None = None
        # from now until the outcome is collected, SIGTERM (a closed terminal, a CI cancel) is an interrupt: the
        # main thread's clean-up removes the container instead of the process dying with it still running
        self._previous = sigterm_as_interrupt()
        self._thread = threading.Thread(target=self._work, name="sandbox-run", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        try:
            self._outcome = self.sandbox.run(self.request)
        except BaseException as err:  # noqa: BLE001 — handed to the main thread, which raises it
            self._error = err

    def outcome(self) -> RunOutcome:
        """The run's outcome, raising what the run raised; an interrupt removes the run's container first."""
        try:
            while self._thread.is_alive():
                self._thread.join(0.2)  # a bounded join: the main thread stays interruptible
        except KeyboardInterrupt:
            self.cancel()
            raise
        finally:
            self._restore()
        if self._error is not None:
            raise self._error
        assert self._outcome is not None
        return self._outcome

    def cancel(self) -> None:
        """Stop the run (its container is removed) and wait for its thread; its outcome is never judged."""
        try:
            stop_runs(self.sandbox)
            self._thread.join(30)
        finally:
            self._restore()

    def _restore(self) -> None:
        restore(self._previous)
        self._previous = None


def overlappable(sandbox: Sandbox) -> bool:
    """Whether an interrupt can stop a run of `sandbox` from another thread (the Docker sandbox can: it removes
    the container; the none sandbox's run is a child process that only its own thread ends)."""
    return callable(getattr(sandbox, "stop_all", None))
