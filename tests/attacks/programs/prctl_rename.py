"""Renames itself 'strace' and a leftover child 'dnsmasq' with prctl: processes are known by PID, not name."""
import ctypes
import os
import time

libc = ctypes.CDLL(None, use_errno=True)
PR_SET_NAME = 15
libc.prctl(PR_SET_NAME, b"strace", 0, 0, 0)
pid = os.fork()
if pid == 0:
    libc.prctl(PR_SET_NAME, b"dnsmasq", 0, 0, 0)
    time.sleep(10_000)
    os._exit(0)
with open("/proc/self/comm") as f:
    print("COMM", f.read().strip())
