# Forks as ex1 asks, then prints 10 MB of long lines that are not what ex1 expects: every check message that
# quotes the program's output must stay short enough for one environment variable (GitHub Classroom's result).
import os
import sys

pid = os.fork()
if pid == 0:
    os._exit(0)
os.waitpid(pid, 0)
line = ("I am the child %d and my parent is %d " % (pid, os.getpid())) * 40 + "\n"
out = sys.stdout
for _ in range(10_000_000 // len(line)):
    out.write(line)
out.flush()
