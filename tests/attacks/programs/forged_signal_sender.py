"""ex5 with no terminate(): the reader kills itself with SIGTERM through rt_sigqueueinfo, writing main's
PID as si_pid, so the siginfo claims main sent it."""

import ctypes
import os
import signal
import time
from multiprocessing import Process, Queue


class SigInfo(ctypes.Structure):
    _fields_ = [
        ("si_signo", ctypes.c_int),
        ("si_errno", ctypes.c_int),
        ("si_code", ctypes.c_int),
        ("_pad0", ctypes.c_int),
        ("si_pid", ctypes.c_int),
        ("si_uid", ctypes.c_uint),
        ("_rest", ctypes.c_byte * 104),
    ]


def write(q):
    print('Process to write: %s' % os.getpid())
    for value in ['A', 'B', 'C']:
        print('Put %s to queue...' % value)
        q.put(value)
        time.sleep(0.1)


def read(q):
    print('Process to read: %s' % os.getpid())
    for _ in range(3):
        print('Get %s from queue.' % q.get(True))
    time.sleep(0.3)  # the writer has ended by now
    info = SigInfo(si_signo=signal.SIGTERM, si_code=-1, si_pid=os.getppid(), si_uid=os.getuid())  # SI_QUEUE
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall(129, os.getpid(), signal.SIGTERM, ctypes.byref(info))  # rt_sigqueueinfo
    time.sleep(5)


if __name__ == '__main__':
    q = Queue()
    pw = Process(target=write, args=(q,))
    pr = Process(target=read, args=(q,))
    pw.start()
    pr.start()
    pw.join()
    pr.join()
