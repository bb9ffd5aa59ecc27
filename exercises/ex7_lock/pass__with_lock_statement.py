"""`with lock:` around the deposit: the same guard in other words."""
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


threads = [threading.Thread(target=run_thread, args=(n,)) for n in (5, 8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(f"balance = {balance}")
