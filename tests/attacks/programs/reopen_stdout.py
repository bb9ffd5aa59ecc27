# ruff: noqa: UP031 — written the way students write
"""Reopens stdout through /proc/self/fd/1 and prints the expected lines there, without forking."""
import os

with open("/proc/self/fd/1", "w") as out:
    me = os.getpid()
    out.write("Process (%d) start...\nI (%d) just created a child process (%d).\n" % (me, me, me + 1))
    out.write("I am child process (%d) and my parent is %d.\n" % (me + 1, me))
