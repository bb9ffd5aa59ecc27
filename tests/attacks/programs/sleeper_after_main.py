"""A child that sleeps forever after main exits."""
import os
import time

print(f"Process ({os.getpid()}) start...")
pid = os.fork()
if pid == 0:
    time.sleep(10_000)
    os._exit(0)
print(f"I ({os.getpid()}) just created a child process ({pid}).")
