"""The spawn start method chosen by the program, main pausing between sends, the child closing its end."""
import multiprocessing
import time


def receive(conn):
    with conn:
        while True:
            msg = conn.recv()
            if msg is None:
                return
            print("Got", msg)


if __name__ == "__main__":
    ctx = multiprocessing.get_context("spawn")
    a, b = ctx.Pipe()
    p = ctx.Process(target=receive, args=(b,))
    p.start()
    for v in [1, 2, 3]:
        a.send(v)
        time.sleep(0.05)
    a.send(None)
    p.join()
    print("Pipe done.")
