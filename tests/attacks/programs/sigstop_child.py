"""SIGSTOP of a child, then wait for it forever."""
import os
import signal
import time

pid = os.fork()
if pid == 0:
    while True:
        time.sleep(0.1)
time.sleep(0.2)
os.kill(pid, signal.SIGSTOP)
os.waitpid(pid, 0)
