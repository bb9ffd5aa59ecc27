"""Memory bomb in the children: each child grabs memory until something gives."""
import os

kids = []
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        hoard = []
        while True:
            hoard.append(bytearray(16 << 20))
    kids.append(pid)
for pid in kids:
    os.waitpid(pid, 0)
