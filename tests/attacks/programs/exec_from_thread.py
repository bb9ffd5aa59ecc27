"""ex1 whose child becomes /bin/sh by an execve from a second thread: strace shows it as
`<pid changed to ...>` and `+++ superseded by execve +++`, which a parser may drop."""

import os
import threading
import time

print('Process (%s) start...' % os.getpid())
pid = os.fork()
if pid == 0:
    line = 'echo "I am child process ($$) and my parent is $PPID."'
    threading.Thread(target=os.execv, args=('/bin/sh', ['sh', '-c', line])).start()
    time.sleep(5)
    os._exit(1)
print('I (%s) just created a child process (%s).' % (os.getpid(), pid))
os.waitpid(pid, 0)
