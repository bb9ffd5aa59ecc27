import os
import time
from multiprocessing import Process, Queue


def write(q):
    print('Process to write: %s' % os.getpid())
    time.sleep(0.3)
    for value in ['A', 'B', 'C']:
        print('Put %s to queue...' % value)
        q.put(value)


def read(q):
    print('Process to read: %s' % os.getpid())
    for value in ['A', 'B', 'C']:  # printed without waiting for the queue
        print('Get %s from queue.' % value)
    while True:
        q.get(True)


if __name__ == '__main__':
    q = Queue()
    pw = Process(target=write, args=(q,))
    pr = Process(target=read, args=(q,))
    pw.start()
    pr.start()
    pw.join()
    pr.terminate()
