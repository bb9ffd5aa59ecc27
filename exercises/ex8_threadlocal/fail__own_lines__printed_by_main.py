"""The threads store their names, but main prints both lines with the right words."""
import threading
import time

local_school = threading.local()
seen = {}


def process_thread(name):
    local_school.student = name
    time.sleep(0.2)
    seen[threading.current_thread().name] = local_school.student


t1 = threading.Thread(target=process_thread, args=("Alice",), name="Thread-A")
t2 = threading.Thread(target=process_thread, args=("Bob",), name="Thread-B")
t1.start()
t2.start()
t1.join()
t2.join()
for name in ("Thread-A", "Thread-B"):
    print("Hello, %s (in %s)" % (seen[name], name))
