# The course program's race, made certain: the writer puts C and ends at once, main joins it and terminates
# the reader while C is still in the pipe (the reader is busy handling each value for 0.3 s — computing, as a
# slow print would, not asleep: a reader terminated asleep with values waiting is a dawdler and fails).
# The reader got A and B; C was in flight through no fault of the program.
import os
import time
from multiprocessing import Process, Queue


def write(q):
    print('Process to write: %s' % os.getpid())
    for value in ['A', 'B', 'C']:
        print('Put %s to queue...' % value)
        q.put(value)
        time.sleep({'A': 1.0, 'B': 0.05, 'C': 0}[value])  # 1 s: the reader surely got A, even on a busy machine


def read(q):
    print('Process to read: %s' % os.getpid())
    while True:
        value = q.get(True)
        print('Get %s from queue.' % value)
        busy_until = time.monotonic() + 0.3
        while time.monotonic() < busy_until:
            pass


if __name__ == '__main__':
    q = Queue()
    pw = Process(target=write, args=(q,))
    pr = Process(target=read, args=(q,))
    pw.start()
    pr.start()
    pw.join()
    pr.terminate()
