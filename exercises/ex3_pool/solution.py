"""ex3 — run five tasks on a Pool of four processes. Read README.md, then complete the TODOs.

Run it yourself:   python3 solution.py
Grade it:          grade submit ex3
"""

from multiprocessing import Pool
import os
import random
import time


def long_time_task(name):
    print('Run task %s (%s)...' % (name, os.getpid()))
    start = time.time()
    time.sleep(random.random() * 0.5)
    end = time.time()
    print('Task %s runs %0.2f seconds.' % (name, (end - start)))


if __name__ == '__main__':
    print('Parent process %s.' % os.getpid())
    # TODO: create a pool of 4 worker processes: p = Pool(4)
    # TODO: hand it the tasks 0..4, e.g. p.apply_async(long_time_task, args=(i,)) for each i in range(5)
    print('Waiting for all subprocesses done...')
    # TODO: p.close() (no more tasks), then p.join() (wait until every worker has finished)
    print('All subprocesses done.')
