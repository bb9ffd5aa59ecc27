"""ex9 — send 1, 2, 3 and None to a child process through a multiprocessing.Pipe. See README.md."""

from multiprocessing import Pipe, Process


def receive(conn):
    # TODO: loop: msg = conn.recv(); stop when msg is None, else print('Got %s' % msg)
    pass


if __name__ == "__main__":
    # TODO: parent_conn, child_conn = Pipe(); start Process(target=receive, args=(child_conn,));
    # send 1, 2, 3 and then None with parent_conn.send(...); join the child
    print("Pipe done.")
