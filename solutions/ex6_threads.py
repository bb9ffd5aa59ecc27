"""ex6 reference: one thread named LoopThread next to the main thread, joined before main ends."""

import threading
import time


def loop():
    print("thread %s is running..." % threading.current_thread().name)
    n = 0
    while n < 5:
        n = n + 1
        print("thread %s >>> %s" % (threading.current_thread().name, n))
        time.sleep(0.05)
    print("thread %s ended." % threading.current_thread().name)


if __name__ == "__main__":
    print("thread %s is running..." % threading.current_thread().name)
    t = threading.Thread(target=loop, name="LoopThread")
    t.start()
    t.join()
    print("thread %s ended." % threading.current_thread().name)
