"""Fills memory through a memfd's page cache: no process's resident size grows, so without a hint the kernel's
OOM killer may pick the sandbox's own entrypoint (PID 1), and the run would end "without a result" — an
infrastructure error on demand. The student's processes must be the ones it picks."""
import os

chunk = b"x" * (1 << 20)
fds = []
for n in range(1, 4096):
    if n % 48 == 1:  # a new memfd every 48 MiB: each file stays under the file size limit
        fds.append(os.memfd_create("fill"))
    os.write(fds[-1], chunk)
    if n % 64 == 0:
        print("MiB", n, flush=True)
