"""A multiprocessing.Queue instead of a Pipe: the values travel, but through the Queue's feeder thread."""
from multiprocessing import Process, Queue


def receive(q):
    while True:
        msg = q.get()
        if msg is None:
            break
        print("Got %s" % msg)


if __name__ == "__main__":
    q = Queue()
    p = Process(target=receive, args=(q,))
    p.start()
    for value in [1, 2, 3, None]:
        q.put(value)
    p.join()
    print("Pipe done.")
