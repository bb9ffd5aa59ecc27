"""The LoopThread forks: the forked process prints the count, spelled as the thread's."""
import os
import threading


def loop():
    pid = os.fork()
    if pid == 0:
        for n in range(1, 6):
            print("thread LoopThread >>> %d" % n)
        print("thread LoopThread ended.")
        os._exit(0)
    os.waitpid(pid, 0)


print("thread %s is running..." % threading.current_thread().name)
t = threading.Thread(target=loop, name="LoopThread")
t.start()
t.join()
print("thread %s ended." % threading.current_thread().name)
