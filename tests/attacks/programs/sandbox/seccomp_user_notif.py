"""A seccomp filter of the program's own that sends clone() to a supervisor thread (SECCOMP_RET_USER_NOTIF),
which answers "continue": that action outranks the tracer's filter, so the second fork could happen unseen
and two children pass as one. The sandbox must refuse the filter; the fork is then done in plain sight."""
import ctypes
import os
import struct
import threading

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
NR = {"x86_64": (56, 317), "aarch64": (220, 277)}[os.uname().machine]  # clone, seccomp
NOTIF_RECV, NOTIF_SEND = 0xC0502100, 0xC0182101
RET_USER_NOTIF, RET_ALLOW = 0x7FC00000, 0x7FFF0000
SET_MODE_FILTER, FLAG_NEW_LISTENER = 1, 1 << 3


def supervise() -> None:
    ready.wait()
    listener = found[0]
    while listener >= 0:
        notif = ctypes.create_string_buffer(80)
        if libc.ioctl(listener, ctypes.c_ulong(NOTIF_RECV), notif) != 0:
            return
        (ident,) = struct.unpack_from("Q", notif.raw)
        resp = ctypes.create_string_buffer(struct.pack("QqiI", ident, 0, 0, 1))  # FLAG_CONTINUE
        libc.ioctl(listener, ctypes.c_ulong(NOTIF_SEND), resp)


ready, found = threading.Event(), [-1]
# started before the filter: a thread made later would be created through the filter it is meant to answer
threading.Thread(target=supervise, daemon=True).start()
print(f"Process ({os.getpid()}) start...", flush=True)
pid = os.fork()
if pid == 0:
    print(f"I am child process ({os.getpid()}) and my parent is {os.getppid()}.", flush=True)
    os._exit(0)
print(f"I ({os.getpid()}) just created a child process ({pid}).", flush=True)
os.waitpid(pid, 0)
insns = [(0x20, 0, 0, 0), (0x15, 0, 1, NR[0]), (0x06, 0, 0, RET_USER_NOTIF), (0x06, 0, 0, RET_ALLOW)]
raw = b"".join(struct.pack("HBBI", *i) for i in insns)
buf = ctypes.create_string_buffer(raw, len(raw))
prog = struct.pack("HxxxxxxQ", len(insns), ctypes.addressof(buf))
libc.prctl(38, 1, 0, 0, 0)  # no-new-privileges, which an unprivileged filter needs
listener = libc.syscall(NR[1], SET_MODE_FILTER, FLAG_NEW_LISTENER, ctypes.create_string_buffer(prog))
if listener < 0:
    print("SECCOMP refused errno", ctypes.get_errno(), flush=True)
else:
    print("SECCOMP installed", flush=True)
found[0] = listener
ready.set()
# the second child, hidden if the filter went in: a bare clone(SIGCHLD) through ctypes, which lets go of the
# GIL and takes no C library lock (os.fork and fork() hold locks the supervisor thread needs to answer)
hidden = libc.syscall(NR[0], 17, 0, 0, 0, 0) if listener >= 0 else os.fork()
if hidden == 0:
    os._exit(0)
os.waitpid(hidden, 0)
