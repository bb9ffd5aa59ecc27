"""The child takes exactly three values and returns: it stops before None (main paces its sends)."""
import time
from multiprocessing import Pipe, Process


def receive(conn):
    for _ in range(3):
        print("Got %s" % conn.recv())


if __name__ == "__main__":
    parent_conn, child_conn = Pipe()
    p = Process(target=receive, args=(child_conn,))
    p.start()
    for value in [1, 2, 3]:
        parent_conn.send(value)
        time.sleep(0.2)
    parent_conn.send(None)
    p.join()
    print("Pipe done.")
