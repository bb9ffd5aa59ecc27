# concurrent.futures instead of multiprocessing.Pool: four worker processes, reused, all waited for
from concurrent.futures import ProcessPoolExecutor, wait
import os, time, random


def long_time_task(name):
    print(f'Run task {name} ({os.getpid()})...')
    start = time.time()
    time.sleep(random.random() * 0.5)
    print(f'Task {name} runs {time.time() - start:0.2f} seconds.')


if __name__ == '__main__':
    print(f'Parent process {os.getpid()}.')
    with ProcessPoolExecutor(max_workers=4) as ex:
        futures = [ex.submit(long_time_task, i) for i in range(5)]
        print('Waiting for all subprocesses done...')
        wait(futures)
    print('All subprocesses done.')
