import os, time
print('Process (%d) start...' % os.getpid(), flush=True)
pid = os.fork()
if pid:
    print('I (%d) just created a child process (%d).' % (os.getpid(), pid), flush=True)
    _, status = os.waitpid(pid, 0)
else:
    time.sleep(0.2)
    print('I am child process (%d) and my parent is %d.' % (os.getpid(), os.getppid()), flush=True)
    os._exit(0)
