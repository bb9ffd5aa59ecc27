"""ex1 with a second child hidden by clone(CLONE_PARENT): its kernel parent is main's parent, outside the
trace, so a tree built from parent links alone never sees it as main's child."""

import ctypes
import os
import time

CLONE_PARENT = 0x00008000
SIGCHLD = 17
libc = ctypes.CDLL(None, use_errno=True)

print('Process (%s) start...' % os.getpid())
hidden = libc.syscall(56, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0)  # raw clone: a copy of main, no fork handlers
if hidden == 0:
    time.sleep(0.3)
    os._exit(0)
pid = os.fork()
if pid == 0:
    print('I am child process (%s) and my parent is %s.' % (os.getpid(), os.getppid()))
    os._exit(0)
print('I (%s) just created a child process (%s).' % (os.getpid(), pid))
os.waitpid(pid, 0)
