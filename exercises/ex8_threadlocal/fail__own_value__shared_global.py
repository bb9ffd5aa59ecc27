"""One shared global instead of a thread-local: the pause lets Thread-B overwrite Alice before Thread-A reads."""
import threading
import time

student = None


def process_student():
    print("Hello, %s (in %s)" % (student, threading.current_thread().name))


def process_thread(name):
    global student
    student = name
    time.sleep(0.2)
    process_student()


t1 = threading.Thread(target=process_thread, args=("Alice",), name="Thread-A")
t2 = threading.Thread(target=process_thread, args=("Bob",), name="Thread-B")
t1.start()
t2.start()
t1.join()
t2.join()
