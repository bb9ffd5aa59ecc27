"""Double fork, setsid, closed fds, SIGTERM ignored: a daemon that tries to outlive the grader."""
import os
import signal
import time

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        os.closerange(0, 256)
        while True:
            time.sleep(1)
    os._exit(0)
os.wait()
print("daemon started")
