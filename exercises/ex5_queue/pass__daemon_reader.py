import os
import random
import time
from multiprocessing import Process, Queue


def write(q):
    print('Process to write: %s' % os.getpid())
    for value in 'ABC':
        print('Put %s to queue...' % value)
        q.put(value)
        time.sleep(random.random() / 5)


def read(q):
    print('Process to read: %s' % os.getpid())
    while True:
        print('Get %s from queue.' % q.get(True))


if __name__ == '__main__':
    q = Queue()
    pw = Process(target=write, args=(q,))
    pr = Process(target=read, args=(q,), daemon=True)  # multiprocessing terminates it when main exits
    pw.start()
    pr.start()
    pw.join()
    time.sleep(0.2)
