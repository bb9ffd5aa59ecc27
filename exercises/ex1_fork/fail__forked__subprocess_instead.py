import os, subprocess, sys
print('Process (%s) start...' % os.getpid())
p = subprocess.Popen([sys.executable, '-c', 'import os; print("I am child process (%s) and my parent is %s." % (os.getpid(), os.getppid()))'])
print('I (%s) just created a child process (%s).' % (os.getpid(), p.pid))
p.wait()
