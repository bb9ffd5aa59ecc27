# ruff: noqa: UP031 — written the way students write
"""Looks for the grader, the reference solutions and the trace; prints what it could read."""
import os

found = []
for root in ("/opt", "/usr/local", "/tmp", "/root", "/home", "/srv", "/run", "/submission", "/var", "/mnt", "/work"):
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            if name in ("ex1_fork.py", "grading.py", "checks.py", "trace") or "solution" in dirpath:
                found.append(os.path.join(dirpath, name))
readable = []
for path in ("/run/grade/trace", "/proc/1/environ", "/proc/1/mem", "/proc/%d/environ" % os.getppid(),
             "/run/grade/dns.log", "/etc/shadow"):
    try:
        with open(path, "rb") as f:
            f.read(64)
        readable.append(path)
    except OSError:
        pass
# the tracer's memory (it is the parent): process_vm_readv is allowed, for strace's own use, so the kernel's
# ptrace check must refuse it across uids
import ctypes
class IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
libc = ctypes.CDLL(None, use_errno=True)
buf = ctypes.create_string_buffer(64)
maps = "/proc/%d/maps" % os.getppid()
try:
    start = int(open(maps).readline().split("-")[0], 16)
except (OSError, ValueError):
    start = 0x400000
local, remote = IoVec(ctypes.cast(buf, ctypes.c_void_p), 64), IoVec(start, 64)
if libc.process_vm_readv(os.getppid(), ctypes.byref(local), 1, ctypes.byref(remote), 1, 0) > 0:
    readable.append("memory of %d" % os.getppid())
print("FOUND", sorted(found))
print("READABLE", readable)
