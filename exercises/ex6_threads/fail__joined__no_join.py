"""Main says it ended right after starting the thread: no join (Python still waits for it at exit)."""
import threading
import time


def loop():
    for n in range(1, 6):
        print("thread %s >>> %d" % (threading.current_thread().name, n))
        time.sleep(0.05)
    print("thread %s ended." % threading.current_thread().name)


print("thread %s is running..." % threading.current_thread().name)
t = threading.Thread(target=loop, name="LoopThread")
t.start()
print("thread %s ended." % threading.current_thread().name)
