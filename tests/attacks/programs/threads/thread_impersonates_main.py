"""Renamed threads impersonate: a thread named MainThread (in Python and with prctl) prints main's lines,
while the real main thread renames itself LoopThread and prints the count."""
import ctypes
import threading

libc = ctypes.CDLL(None, use_errno=True)
PR_SET_NAME = 15


def fake_main(step):
    libc.prctl(PR_SET_NAME, b"MainThread", 0, 0, 0)
    print("thread %s %s" % (threading.current_thread().name, step))


def run(step):
    t = threading.Thread(target=fake_main, args=(step,), name="MainThread")
    t.start()
    t.join()


threading.current_thread().name = "LoopThread"
libc.prctl(PR_SET_NAME, b"LoopThread", 0, 0, 0)
run("is running...")
for n in range(1, 6):
    print("thread %s >>> %d" % (threading.current_thread().name, n))
print("thread %s ended." % threading.current_thread().name)
run("ended.")
