"""os.kill(-1, 9): kill every process we may signal (the child, not the tracer)."""
import os
import time

print(f"Process ({os.getpid()}) start...")
pid = os.fork()
if pid == 0:
    time.sleep(30)
    os._exit(0)
time.sleep(0.2)
os.kill(-1, 9)
os.waitpid(pid, 0)
print(f"I ({os.getpid()}) just created a child process ({pid}).")
