import multiprocessing
import os
import random
import time


def long_time_task(name: int) -> None:
    print(f"run task {name} ( {os.getpid()} ) ...", flush=True)
    start = time.time()
    time.sleep(random.uniform(0.05, 0.5))
    print(f"TASK {name} RUNS {time.time() - start:.3f} SECONDS", flush=True)


if __name__ == "__main__":
    print(f"Parent process {os.getpid()}")
    with multiprocessing.Pool(processes=4) as pool:
        pending = [pool.apply_async(long_time_task, (i,)) for i in range(5)]
        print("waiting for all subprocesses done")
        pool.close()
        pool.join()
    for r in pending:
        r.get()
    print("All subprocesses done")
