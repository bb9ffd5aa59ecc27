import os
me = os.getpid()
print('Process (%s) start...' % me)
print('I (%s) just created a child process (%s).' % (me, me + 1))
print('I am child process (%s) and my parent is %s.' % (me + 1, me))
