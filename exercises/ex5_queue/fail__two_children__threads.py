import os
import queue
import threading
import time


def write(q):
    print('Process to write: %s' % os.getpid())
    for value in ['A', 'B', 'C']:
        print('Put %s to queue...' % value)
        q.put(value)
        time.sleep(0.05)


def read(q):
    print('Process to read: %s' % os.getpid())
    while True:
        print('Get %s from queue.' % q.get(True))


q = queue.Queue()
tw = threading.Thread(target=write, args=(q,))
tr = threading.Thread(target=read, args=(q,), daemon=True)
tw.start()
tr.start()
tw.join()
time.sleep(0.1)
