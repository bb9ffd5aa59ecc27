"""ex6 — run loop() in a thread named LoopThread; see README.md."""

import threading
import time


def loop():
    # print 'thread LoopThread >>> 1' ... '>>> 5', then 'thread LoopThread ended.'
    # (the name comes from threading.current_thread().name)
    pass


if __name__ == "__main__":
    print("thread %s is running..." % threading.current_thread().name)
    # TODO: create t = threading.Thread(target=loop, name="LoopThread"), start it, and wait for it (join)
    print("thread %s ended." % threading.current_thread().name)
