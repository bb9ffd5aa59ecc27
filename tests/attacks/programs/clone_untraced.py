# ruff: noqa: UP031 — written the way students write
"""Raw clone(CLONE_UNTRACED|SIGCHLD): a child strace would never see, printing the expected lines."""
import ctypes
import os

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
CLONE_UNTRACED, SIGCHLD = 0x00800000, 17
print(f"Process ({os.getpid()}) start...")
pid = libc.syscall(56, CLONE_UNTRACED | SIGCHLD, 0, 0, 0, 0)
if pid == 0:
    print(f"I am child process ({os.getpid()}) and my parent is {os.getppid()}.")
    os._exit(0)
if pid < 0:
    print("clone errno=%d" % ctypes.get_errno())
    raise SystemExit(1)
print(f"I ({os.getpid()}) just created a child process ({pid}).")
os.waitpid(pid, 0)
