"""ex1 whose output also carries lines written with vmsplice, which the tracer does not show: a fake
tracer complaint on stderr and an extra line on stdout."""

import ctypes
import os


class IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


def vmsplice(fd, data):
    buf = ctypes.create_string_buffer(data, len(data))
    iov = IoVec(ctypes.cast(buf, ctypes.c_void_p), len(data))
    libc = ctypes.CDLL(None, use_errno=True)
    n = libc.syscall(278, fd, ctypes.byref(iov), 1, 0)  # vmsplice
    os.write(1, b'vmsplice %d errno=%d\n' % (n, ctypes.get_errno()))


print('Process (%s) start...' % os.getpid())
vmsplice(2, b'strace: the student wrote this\n')
vmsplice(1, b'Not traced at all.\n')
pid = os.fork()
if pid == 0:
    print('I am child process (%s) and my parent is %s.' % (os.getpid(), os.getppid()))
    os._exit(0)
print('I (%s) just created a child process (%s).' % (os.getpid(), pid))
os.waitpid(pid, 0)
