"""Fork churn: forks and reaps as fast as possible, to flood the trace."""
import os

while True:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
