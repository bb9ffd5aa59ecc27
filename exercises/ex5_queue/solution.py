"""ex5 — two processes talking through a multiprocessing.Queue. Read README.md, then complete the TODOs.

Run it yourself:   python3 solution.py
Grade it:          grade submit ex5
"""

import os
import random
import time
from multiprocessing import Process, Queue


def write(q):
    print('Process to write: %s' % os.getpid())
    for value in ['A', 'B', 'C']:
        print('Put %s to queue...' % value)
        # TODO: put value into the queue q
        time.sleep(random.random())


def read(q):
    print('Process to read: %s' % os.getpid())
    # TODO: loop forever: take a value from q with q.get(True) and print
    #       Get <value> from queue.


if __name__ == '__main__':
    q = Queue()
    # TODO: create two Processes: one running write(q), one running read(q).
    # TODO: start both, wait for the writer with join(), then stop the reader with terminate()
    #       (its loop never ends by itself).
