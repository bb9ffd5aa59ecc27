from multiprocessing import Pool
import os, time


def long_time_task(name):
    print('Run task %s (%s)...' % (name, os.getpid()))
    start = time.time()
    time.sleep(0.3)  # fixed, so the pool is surely terminated while the tasks still run
    print('Task %s runs %0.2f seconds.' % (name, (time.time() - start)))


if __name__ == '__main__':
    print('Parent process %s.' % os.getpid())
    with Pool(4) as p:
        p.map_async(long_time_task, range(5))
        print('Waiting for all subprocesses done...')
    # leaving the with-block calls p.terminate(): the workers are killed, tasks cut off
    print('All subprocesses done.')
