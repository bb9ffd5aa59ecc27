from multiprocessing import Pool
import os, time


def long_time_task(name):
    print('Run task %s (%s)...' % (name, os.getpid()))
    time.sleep(0.2)
    print('Task %s runs 0.20 seconds.' % name)


if __name__ == '__main__':
    print('Parent process %s.' % os.getpid())
    p = Pool(4)
    results = [p.apply_async(long_time_task, args=(i,)) for i in range(5)]
    print('Waiting for all subprocesses done...')
    for r in results:
        r.get()
    print('All subprocesses done.')  # the workers are still alive: no close()/join()
    p.close()
    p.join()
