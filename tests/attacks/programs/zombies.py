"""Zombies: children that exit and are never reaped."""
import os
import time

for _ in range(5):
    if os.fork() == 0:
        os._exit(0)
time.sleep(1)
print("left 5 zombies")
