"""ex7 reference: every deposit under one lock shared by both threads."""

import threading
import time

balance = 0
lock = threading.Lock()


def deposit(n):
    global balance
    current = balance
    time.sleep(0)
    balance = current + n


def run_thread(n):
    for i in range(10000):
        lock.acquire()
        try:
            deposit(n)
        finally:
            lock.release()


if __name__ == "__main__":
    t1 = threading.Thread(target=run_thread, args=(5,))
    t2 = threading.Thread(target=run_thread, args=(8,))
    t1.start()
    t2.start()
    t1.join()
    t2.join()
    print("balance =", balance)
