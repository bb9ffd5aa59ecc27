"""A multiprocessing.Process instead of a thread, naming itself LoopThread."""
import multiprocessing
import threading


def loop():
    for n in range(1, 6):
        print("thread LoopThread >>> %d" % n)
    print("thread LoopThread ended.")


if __name__ == "__main__":
    print("thread %s is running..." % threading.current_thread().name)
    p = multiprocessing.Process(target=loop, name="LoopThread")
    p.start()
    p.join()
    print("thread %s ended." % threading.current_thread().name)
