"""Only the first thread takes the lock: the other deposits whenever it likes."""
import threading
import time

balance = 0
lock = threading.Lock()


def deposit(n):
    global balance
    current = balance
    time.sleep(0)
    balance = current + n


def run_thread(n, guarded):
    for _ in range(10000):
        if guarded:
            with lock:
                deposit(n)
        else:
            deposit(n)


t1 = threading.Thread(target=run_thread, args=(5, True))
t2 = threading.Thread(target=run_thread, args=(8, False))
t1.start()
t2.start()
t1.join()
t2.join()
print("balance =", balance)
