# ruff: noqa: UP031 — written the way students write
"""os.kill(getppid(), 9): kill the tracer (and PID 1, the grader's entrypoint)."""
import os

for target in (os.getppid(), 1):
    try:
        os.kill(target, 9)
        print("killed", target)
    except PermissionError as err:
        print("kill", target, "errno=%d" % err.errno)
os.kill(os.getppid(), 9)
