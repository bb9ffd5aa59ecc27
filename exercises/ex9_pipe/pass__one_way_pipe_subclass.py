"""Pipe(duplex=False) (an os pipe, not a socketpair) and a Process subclass with run()."""
import multiprocessing


class Receiver(multiprocessing.Process):
    def __init__(self, conn):
        super().__init__()
        self.conn = conn

    def run(self):
        while (msg := self.conn.recv()) is not None:
            print(f"Got {msg}")


if __name__ == "__main__":
    recv_end, send_end = multiprocessing.Pipe(duplex=False)
    child = Receiver(recv_end)
    child.start()
    for v in (1, 2, 3, None):
        send_end.send(v)
    child.join()
    print("Pipe done.")
