"""ex8 — each thread stores its student in a threading.local() and reads it back. See README.md."""

import threading
import time

# TODO: local_school = threading.local()


def process_student():
    # TODO: read the student back from the thread-local, then print it:
    # print('Hello, %s (in %s)' % (std, threading.current_thread().name))
    pass


def process_thread(name):
    # TODO: store `name` in the thread-local
    time.sleep(0.2)  # keep this pause: the other thread runs and stores its own name meanwhile
    process_student()


if __name__ == "__main__":
    # TODO: start Thread-A with 'Alice' and Thread-B with 'Bob' (target=process_thread), then join both
    pass
