"""A dict keyed by the current thread instead of threading.local: each thread still reads its own value."""
import threading
import time

students = {}


def process_student():
    std = students[threading.current_thread()]
    print(f"Hello, {std} (in {threading.current_thread().name})")


def process_thread(name):
    students[threading.current_thread()] = name
    time.sleep(0.2)
    process_student()


threads = [
    threading.Thread(target=process_thread, args=(n,), name=t) for n, t in (("Alice", "Thread-A"), ("Bob", "Thread-B"))
]
for t in threads:
    t.start()
for t in threads:
    t.join()
