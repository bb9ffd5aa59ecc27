# ruff: noqa: UP031 — written the way students write
"""ptrace(PTRACE_TRACEME) and PTRACE_ATTACH to the tracer: both refused."""
import ctypes
import os

libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
for name, req, pid in (("TRACEME", 0, 0), ("ATTACH", 16, os.getppid()), ("ATTACH1", 16, 1)):
    rc = libc.ptrace(req, pid, None, None)
    print("ptrace", name, "rc=%d errno=%d" % (rc, ctypes.get_errno()))
