# The course program's race, lost every time: the reader is started with spawn (a new interpreter, which takes
# a while) and the writer puts its three values at once, so main terminates the reader before it printed
# anything. Nothing shows that the reader reads: the run is graded again (the race can go either way on a
# busy machine), and it loses each time.
import multiprocessing as mp
import os


def write(q):
    print('Process to write: %s' % os.getpid())
    for value in ['A', 'B', 'C']:
        print('Put %s to queue...' % value)
        q.put(value)


def read(q):
    print('Process to read: %s' % os.getpid())
    while True:
        print('Get %s from queue.' % q.get(True))


if __name__ == '__main__':
    q = mp.Queue()
    pw = mp.Process(target=write, args=(q,))
    pw.start()
    pw.join()
    pr = mp.get_context('spawn').Process(target=read, args=(q,))
    pr.start()
    pr.terminate()
