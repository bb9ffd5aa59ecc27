import multiprocessing as mp
import os


def write(q):
    print(f'Process to write: {os.getpid()}', flush=True)
    for value in ['A', 'B', 'C']:
        print(f'Put {value} to queue...', flush=True)
        q.put(value)


def read(q):
    print(f'process to read: {os.getpid()}', flush=True)
    while True:
        print(f'get {q.get(True)} from queue', flush=True)


if __name__ == '__main__':
    ctx = mp.get_context('spawn')
    q = ctx.Queue()
    pw = ctx.Process(target=write, args=(q,))
    pr = ctx.Process(target=read, args=(q,))
    pw.start()
    pr.start()
    pw.join()
    pr.join(timeout=0.5)  # gives the reader time to drain the queue
    pr.terminate()
    pr.join()
