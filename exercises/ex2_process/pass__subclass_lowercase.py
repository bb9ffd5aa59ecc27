# A Process subclass with its own run(), lower-case lines without trailing dots
import multiprocessing as mp
import os


class Child(mp.Process):
    def run(self):
        print(f"run child process test ({os.getpid()})")


if __name__ == "__main__":
    print(f"parent process {os.getpid()}")
    c = Child()
    print("child process will start")
    c.start()
    c.join()
    print("child process end")
