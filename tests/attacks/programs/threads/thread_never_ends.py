"""The LoopThread prints its count, then sleeps forever (non-daemon): the interpreter waits for it at exit."""
import threading
import time


def loop():
    for n in range(1, 6):
        print("thread %s >>> %d" % (threading.current_thread().name, n))
    print("thread %s ended." % threading.current_thread().name)
    time.sleep(10_000)


print("thread %s is running..." % threading.current_thread().name)
threading.Thread(target=loop, name="LoopThread").start()
print("thread %s ended." % threading.current_thread().name)
