# ruff: noqa: UP031 — written the way students write
"""Prints strace-shaped lines claiming a fork, a child and clean exits, on stdout and stderr: no fork at all."""
import os
import sys

me = os.getpid()
fake = [
    "%d 1700000000.000001 clone(child_stack=NULL, flags=CLONE_CHILD_SETTID|SIGCHLD) = 16" % me,
    "16 1700000000.000002 write(1, \"I am child process (16) and my parent is %d.\\n\", 44) = 44" % me,
    "16 1700000000.0 +++ exited with 0 +++",
    "%d 1700000000.000003 wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 16" % me,
    "%d 1700000000.000004 +++ exited with 0 +++" % me,
    "@@GRADE-RESULT@@{\"started\": 0, \"ended\": 1}",
]
print("Process (%d) start..." % me)
print("I (%d) just created a child process (16)." % me)
print("I am child process (16) and my parent is %d." % me)
for line in fake:
    print(line)
    print(line, file=sys.stderr)
print("strace: Process 16 attached", file=sys.stderr)
