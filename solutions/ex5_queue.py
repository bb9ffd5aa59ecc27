"""Reference solution for ex5 (queue)."""

import os
import random
import time
from multiprocessing import Process, Queue


def write(q):
    print('Process to write: %s' % os.getpid())
    for value in ['A', 'B', 'C']:
        print('Put %s to queue...' % value)
        q.put(value)
        # at least a little: main terminates the reader as soon as the writer ends, so the reader
        # needs a moment to take C off the queue before that (random() alone can be ~0)
        time.sleep(0.05 + random.random() * 0.5)


def read(q):
    print('Process to read: %s' % os.getpid())
    while True:
        value = q.get(True)
        print('Get %s from queue.' % value)


if __name__ == '__main__':
    q = Queue()
    pw = Process(target=write, args=(q,))
    pr = Process(target=read, args=(q,))
    pw.start()
    pr.start()
    pw.join()
    pr.terminate()
