"""A thread is started, but the '>>>' lines come from the main thread, spelled with the thread's name."""
import threading
import time


def loop():
    time.sleep(0.2)
    print("thread %s ended." % threading.current_thread().name)


print("thread %s is running..." % threading.current_thread().name)
t = threading.Thread(target=loop, name="LoopThread")
t.start()
for n in range(1, 6):
    print("thread %s >>> %d" % (t.name, n))
t.join()
print("thread %s ended." % threading.current_thread().name)
