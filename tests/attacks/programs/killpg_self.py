"""Kills its own process group with SIGKILL: not an OOM kill, even though the kernel names no sender."""
import os
import signal
import time

print(f"Process ({os.getpid()}) start...")
if os.fork() == 0:
    time.sleep(30)
    os._exit(0)
time.sleep(0.2)
os.killpg(0, signal.SIGKILL)
