"""The child is never joined: 'Pipe done.' comes while it is still printing (multiprocessing reaps it at exit)."""
import time
from multiprocessing import Pipe, Process


def receive(conn):
    while True:
        msg = conn.recv()
        if msg is None:
            break
        print("Got %s" % msg)
        time.sleep(0.1)


if __name__ == "__main__":
    parent_conn, child_conn = Pipe()
    p = Process(target=receive, args=(child_conn,))
    p.start()
    for value in [1, 2, 3, None]:
        parent_conn.send(value)
    print("Pipe done.")
