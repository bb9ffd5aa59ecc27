# ruff: noqa: UP031 — written the way students write
"""Fills /tmp with one big file until the disk says no."""
size = 0
try:
    with open("/tmp/big", "wb") as f:
        while True:
            f.write(b"\0" * (1 << 20))
            size += 1 << 20
except OSError as err:
    print("BIG", size, "errno=%d" % err.errno)
