import multiprocessing as mp
import os


def run_proc(name):
    print(f"run child process {name} ( {os.getpid()} ) ...")


if __name__ == "__main__":
    print(f"PARENT PROCESS {os.getpid()}")
    p = mp.Process(target=run_proc, args=("test",))
    print("child process will start")
    p.start()
    p.join()
    print("Child process end")
