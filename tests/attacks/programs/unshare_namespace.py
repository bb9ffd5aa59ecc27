# ruff: noqa: UP031 — written the way students write
"""Tries to make new namespaces and to mount: refused by the seccomp profile and missing capabilities."""
import ctypes

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
for name, flags in (("NEWUSER", 0x10000000), ("NEWPID", 0x20000000), ("NEWNET", 0x40000000), ("NEWNS", 0x00020000)):
    rc = libc.unshare(flags)
    print("unshare", name, "rc=%d errno=%d" % (rc, ctypes.get_errno()))
rc = libc.syscall(56, 0x10000000 | 17, 0, 0, 0, 0)  # clone(CLONE_NEWUSER|SIGCHLD)
if rc == 0:
    libc.syscall(60, 0)
print("clone NEWUSER rc=%d errno=%d" % (rc, ctypes.get_errno()))
rc = libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)
print("mount rc=%d errno=%d" % (rc, ctypes.get_errno()))
