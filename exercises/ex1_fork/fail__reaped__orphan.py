import os
import time

print('Process (%s) start...' % os.getpid())
pid = os.fork()
if pid == 0:
    print('I am child process (%s) and my parent is %s.' % (os.getpid(), os.getppid()))
    os._exit(0)
print('I (%s) just created a child process (%s).' % (os.getpid(), pid))
time.sleep(0.5)  # the child has long finished, but nobody waits for it: it stays a zombie, then an orphan
