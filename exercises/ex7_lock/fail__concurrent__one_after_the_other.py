"""Each thread joined before the next starts: the right total, with no concurrency to guard against."""
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
t1.start()
t1.join()
t2 = threading.Thread(target=run_thread, args=(8,))
t2.start()
t2.join()
print("balance =", balance)
