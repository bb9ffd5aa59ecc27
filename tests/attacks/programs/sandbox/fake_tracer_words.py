"""Does ex1 right, and writes lines in strace's words to stderr by routes the trace does not show as stderr
(a reopened /proc/self/fd/2, a dup the parser cannot follow, vmsplice): they must not make the run an error."""
import ctypes
import os
import sys

FAKE = b"strace: attach: ptrace(PTRACE_SEIZE, 1): Operation not permitted\n"
print(f"Process ({os.getpid()}) start...", flush=True)
try:
    fd = os.open("/proc/self/fd/2", os.O_WRONLY)  # open() is not traced: the parser does not know this fd
    os.write(fd, FAKE)
    os.close(fd)
except OSError as err:
    print("reopen", err.errno, file=sys.stderr)
os.write(2, b"strace: " + b"x" * 10 + b"\n")
libc = ctypes.CDLL(None, use_errno=True)
r, w = os.pipe()
buf = ctypes.create_string_buffer(FAKE, len(FAKE))
iov = (ctypes.c_void_p * 2)(ctypes.addressof(buf), len(FAKE))
if libc.vmsplice(w, iov, 1, 0) > 0:  # into a pipe, then spliced onto stderr: no write() at all
    libc.splice(r, None, 2, None, len(FAKE), 0)
pid = os.fork()
if pid == 0:
    print(f"I am child process ({os.getpid()}) and my parent is {os.getppid()}.", flush=True)
    os._exit(0)
print(f"I ({os.getpid()}) just created a child process ({pid}).", flush=True)
os.waitpid(pid, 0)
