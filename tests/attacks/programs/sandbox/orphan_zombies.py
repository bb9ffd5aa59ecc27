"""Leaves 150 orphans behind, with never more than 3 processes alive: each child forks a grandchild that exits
at once, and exits itself without waiting. The grandchildren go to the sandbox's init, which must reap them:
their zombies would otherwise fill the pids limit and the program be told "too many processes"."""
import os

made = 0
for _ in range(150):
    pid = os.fork()
    if pid == 0:
        if os.fork() == 0:
            os._exit(0)
        os._exit(0)
    os.waitpid(pid, 0)
    made += 1
print(f"made {made} orphans", flush=True)
