"""ex9 reference: main sends 1, 2, 3 and None through a multiprocessing.Pipe to a child that prints them."""

from multiprocessing import Pipe, Process


def receive(conn):
    while True:
        msg = conn.recv()
        if msg is None:
            break
        print("Got %s" % msg)


if __name__ == "__main__":
    parent_conn, child_conn = Pipe()
    p = Process(target=receive, args=(child_conn,))
    p.start()
    for value in [1, 2, 3]:
        parent_conn.send(value)
    parent_conn.send(None)
    p.join()
    print("Pipe done.")
