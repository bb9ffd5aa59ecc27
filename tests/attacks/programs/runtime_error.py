"""Crashes with a traceback after forking."""
import os

pid = os.fork()
if pid == 0:
    os._exit(0)
os.waitpid(pid, 0)
raise ValueError("boom in the parent")
