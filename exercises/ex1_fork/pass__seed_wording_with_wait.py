# The course notes' program word for word (its child says `i am process`, not `I am child process`),
# plus the os.wait() the exercise asks for.
import os

print('Process (%s) start...' % os.getpid())
pid = os.fork()
if pid == 0:
    print('i am process (%s) and my parent is %s.' % (os.getpid(),os.getppid()))
else:
    print('I (%s) just created a child process (%s).' % (os.getpid(), pid))
    os.wait()
