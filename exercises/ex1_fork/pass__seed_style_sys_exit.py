import os, sys
print(f'process ({os.getpid()}) START')
pid = os.fork()
if pid == 0:
    print(f'i am child process ( {os.getpid()} ) and my parent is {os.getppid()}!')
    sys.exit(0)
print(f'I ({os.getpid()}) just created a child process ({pid})')
os.wait()
