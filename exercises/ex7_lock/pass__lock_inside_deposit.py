"""The lock taken inside deposit() itself, an RLock: every read-and-write still guarded."""
import threading
import time

balance = 0
lock = threading.RLock()


def deposit(n):
    global balance
    with lock:
        current = balance
        time.sleep(0)
        balance = current + n


def run_thread(n):
    for _ in range(10000):
        deposit(n)


t1 = threading.Thread(target=run_thread, args=(5,))
t2 = threading.Thread(target=run_thread, args=(8,))
t1.start()
t2.start()
t1.join()
t2.join()
print("balance =", balance)
