"""The total printed while the threads are still depositing, then joined."""
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
    for _ in range(10000):
        with lock:
            deposit(n)


t1 = threading.Thread(target=run_thread, args=(5,))
t2 = threading.Thread(target=run_thread, args=(8,))
t1.start()
t2.start()
print("balance =", balance)
t1.join()
t2.join()
