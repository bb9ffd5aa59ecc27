# ruff: noqa: UP031 — written the way students write
"""clone3(): refused with ENOSYS, so nothing can pass flags the clone() filter cannot read."""
import ctypes

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
args = (ctypes.c_uint64 * 11)()
args[0] = 0x00800000  # CLONE_UNTRACED
args[4] = 17  # exit_signal SIGCHLD
rc = libc.syscall(435, ctypes.byref(args), ctypes.sizeof(args))
if rc == 0:
    libc.syscall(60, 0)  # the child, if any: leave at once
print("clone3 rc=%d errno=%d" % (rc, ctypes.get_errno()))
