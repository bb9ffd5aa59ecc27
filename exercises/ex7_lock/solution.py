"""ex7 — two threads deposit into one balance; make every deposit count with a threading.Lock. See README.md."""

import threading
import time

balance = 0


def deposit(n):
    # Keep this function as it is: it reads the balance, lets another thread run, then writes back the sum.
    global balance
    current = balance
    time.sleep(0)
    balance = current + n


def run_thread(n):
    for i in range(10000):
        # TODO: hold a threading.Lock (shared by both threads) around each deposit
        deposit(n)


if __name__ == "__main__":
    t1 = threading.Thread(target=run_thread, args=(5,))
    t2 = threading.Thread(target=run_thread, args=(8,))
    t1.start()
    t2.start()
    t1.join()
    t2.join()
    print("balance =", balance)
