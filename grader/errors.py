"""Problems the user can fix: each carries one line naming the problem and the fix."""

from __future__ import annotations


class GraderError(Exception):
    """A user-facing error; `str(err)` is the one line the CLI prints."""

    exit_code = 2


class UnknownExercise(GraderError):
    pass


class SubmissionError(GraderError):
    """The submission file is missing, unreadable or not a Python program we can run."""


class EngineUnavailable(GraderError):
    pass


class ImageError(GraderError):
    pass


class StoreError(GraderError):
    pass
