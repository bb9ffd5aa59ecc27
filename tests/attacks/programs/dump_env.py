# ruff: noqa: UP031 — written the way students write
"""Dumps the environment, its own and PID 1's."""
import os

print("ENV", sorted(os.environ))
for pid in ("self", "1"):
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            print("ENVIRON", pid, sorted(k.split(b"=")[0].decode() for k in f.read().split(b"\0") if k))
    except OSError as err:
        print("ENVIRON", pid, "errno=%d" % err.errno)
