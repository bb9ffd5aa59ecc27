"""Child ignores every catchable signal and main exits: the grader must still end it."""
import contextlib
import os
import signal
import time

pid = os.fork()
if pid == 0:
    for s in range(1, 32):
        with contextlib.suppress(OSError, ValueError):
            signal.signal(s, signal.SIG_IGN)
    os.setpgid(0, 0)
    while True:
        time.sleep(0.5)
print("parent leaves")
