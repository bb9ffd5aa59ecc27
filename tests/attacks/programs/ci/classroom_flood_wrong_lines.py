# Forks as ex1 asks, then prints 10 MB of long lines that ex1's start-line pattern matches but with a wrong PID
# (trailing dots are tolerated): a check that quotes every wrong line must still leave GitHub Classroom's
# result small enough for one environment variable.
import os
import sys

pid = os.fork()
if pid == 0:
    os._exit(0)
os.waitpid(pid, 0)
line = "Process (1) start" + "." * 3000 + "\n"
out = sys.stdout
for _ in range(10_000_000 // len(line)):
    out.write(line)
out.flush()
