# The reader takes one value and stops reading: B and C were put long before main terminated it.
import os
import time
from multiprocessing import Process, Queue


def write(q):
    print('Process to write: %s' % os.getpid())
    for value in ['A', 'B', 'C']:
        print('Put %s to queue...' % value)
        q.put(value)
        time.sleep(0.3)


def read(q):
    print('Process to read: %s' % os.getpid())
    print('Get %s from queue.' % q.get(True))
    time.sleep(60)


if __name__ == '__main__':
    q = Queue()
    pw = Process(target=write, args=(q,))
    pr = Process(target=read, args=(q,))
    pw.start()
    pr.start()
    pw.join()
    pr.terminate()
