# ruff: noqa: UP031 — written the way students write
"""Fills /tmp with many small files until the inodes run out."""
count = 0
try:
    while True:
        with open("/tmp/f%06d" % count, "w") as f:
            f.write("x")
        count += 1
except OSError as err:
    print("SMALL", count, "errno=%d" % err.errno)
