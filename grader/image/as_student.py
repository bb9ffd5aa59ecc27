"""Becomes the student inside the traced process, then execs the student's Python (stdlib only, `-I -S`).

strace starts this as root and attaches at once: root tracing root needs no CAP_SYS_PTRACE, which job
containers (Gradescope, GitLab) do not grant. Only then does the process drop to the student, so the
tracer stays attached through the uid change. Before the exec it also
- makes itself the kernel's first choice when memory runs out (oom_score_adj 1000, inherited),
- marks itself dumpable again (a uid change clears it, and strace could not read the exec's arguments),
- sets no-new-privileges and adds a seccomp filter the student cannot remove: no filter of the
  student's own (a SECCOMP_RET_USER_NOTIF filter outranks the tracer's and hides calls from it), no
  clone(CLONE_UNTRACED) or namespace, no clone3, no AF_VSOCK, no io_uring, no foreign-ABI system calls,
- moves the student's stderr onto fd 2: strace's own stderr stays apart, so the student cannot write
  in the tracer's name.
The entrypoint cuts this process's trace lines before its exec: the trace starts at the student's exec.

usage: as_student.py UID|- GID|- filter|nofilter STDERR_FD PYTHON SCRIPT  (- -: stay this user; nofilter: tests)
"""

from __future__ import annotations

import ctypes
import os
import struct

PR_SET_DUMPABLE, PR_SET_SECCOMP, PR_SET_NO_NEW_PRIVS = 4, 22, 38
SECCOMP_MODE_FILTER = 2
EPERM, ENOSYS = 1, 38
AF_VSOCK = 40
# CLONE_NEWNS, CLONE_UNTRACED, CLONE_NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET (as the Docker profile)
CLONE_REFUSED_MASK = 0x7E820000
X32_BIT = 0x40000000
# per architecture: the kernel's AUDIT_ARCH and the numbers of the calls the filter looks at
SYSCALLS = {
    "x86_64": {
        "audit_arch": 0xC000003E,
        "exit": 60,
        "clone": 56,
        "clone3": 435,
        "socket": 41,
        "prctl": 157,
        "seccomp": 317,
        "unshare": 272,
        "setns": 308,
        "process_vm_writev": 311,
        "pidfd_getfd": 438,
        "io_uring_setup": 425,
        "io_uring_enter": 426,
        "io_uring_register": 427,
    },
    "aarch64": {
        "audit_arch": 0xC00000B7,
        "exit": 93,
        "clone": 220,
        "clone3": 435,
        "socket": 198,
        "prctl": 167,
        "seccomp": 277,
        "unshare": 97,
        "setns": 268,
        "process_vm_writev": 271,
        "pidfd_getfd": 438,
        "io_uring_setup": 425,
        "io_uring_enter": 426,
        "io_uring_register": 427,
    },
}
REFUSED = (
    *("seccomp", "unshare", "setns", "process_vm_writev", "pidfd_getfd"),
    *("io_uring_setup", "io_uring_enter", "io_uring_register"),
)
# classic BPF opcodes and seccomp return values
LD_ABS, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06
ALLOW = 0x7FFF0000


def refuse(errno: int) -> int:
    return 0x00050000 | errno


def program(machine: str) -> list[tuple[int, int, int, int]]:
    """The filter as (code, jt, jf, k) tuples; jumps are resolved from labels here."""
    nr = SYSCALLS[machine]
    ops: list[tuple[int | str, ...]] = [(LD_ABS, 0, 0, 4), (JEQ, 0, "eperm", nr["audit_arch"]), (LD_ABS, 0, 0, 0)]
    if machine == "x86_64":
        ops.append((JGE, "eperm", 0, X32_BIT))  # the x32 ABI: numbers with this bit set
    ops += [(JEQ, "eperm", 0, nr[name]) for name in REFUSED]
    ops += [
        (JEQ, "enosys", 0, nr["clone3"]),  # ENOSYS: the C library falls back to clone(), which is checked
        (JEQ, "clone", 0, nr["clone"]),
        (JEQ, "socket", 0, nr["socket"]),
        (JEQ, "prctl", 0, nr["prctl"]),
        (RET, 0, 0, ALLOW),
        ("clone", LD_ABS, 0, 0, 16),  # args[0], low 32 bits (little-endian): the flags
        (JSET, "eperm", 0, CLONE_REFUSED_MASK),
        (RET, 0, 0, ALLOW),
        ("socket", LD_ABS, 0, 0, 16),
        (JEQ, "eperm", 0, AF_VSOCK),
        (RET, 0, 0, ALLOW),
        ("prctl", LD_ABS, 0, 0, 16),
        (JEQ, "eperm", 0, PR_SET_SECCOMP),
        (RET, 0, 0, ALLOW),
        ("eperm", RET, 0, 0, refuse(EPERM)),
        ("enosys", RET, 0, 0, refuse(ENOSYS)),
    ]
    labels = {op[0]: i for i, op in enumerate(ops) if isinstance(op[0], str)}

    def offset(target: int | str, at: int) -> int:  # a label: how many instructions to skip to reach it
        return labels[target] - at - 1 if isinstance(target, str) else target

    out = []
    for i, op in enumerate(ops):
        code, jt, jf, k = op[1:] if isinstance(op[0], str) else op
        out.append((int(code), offset(jt, i), offset(jf, i), int(k)))
    return out


def install_filter(libc: ctypes.CDLL, machine: str) -> None:
    if machine not in SYSCALLS:
        raise OSError(ENOSYS, f"no seccomp filter for the {machine} architecture")
    insns = program(machine)
    raw = b"".join(struct.pack("HBBI", *insn) for insn in insns)
    buf = ctypes.create_string_buffer(raw, len(raw))

    class Fprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    prog = Fprog(len(insns), ctypes.addressof(buf))
    check(libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0), "seccomp filter")


def check(rc: int, what: str) -> None:
    if rc != 0:
        raise OSError(ctypes.get_errno(), f"{what}: {os.strerror(ctypes.get_errno())}")


def become(uid: int, gid: int) -> None:
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    if os.getuid() != uid or os.geteuid() != uid or os.getgid() != gid:
        raise OSError(EPERM, "the uid did not change")


def main(argv: list[str]) -> None:
    uid, gid, wanted, err_fd, python, script = argv[1:7]
    try:
        with open("/proc/self/oom_score_adj", "w") as f:  # raising it needs no privilege
            f.write("1000")
    except OSError:
        pass  # no /proc/self (unusual): the memory limit still holds, the OOM choice is the kernel's
    libc = ctypes.CDLL(None, use_errno=True)
    if uid != "-":
        become(int(uid), int(gid))
        check(libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "dumpable")
    check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no-new-privileges")
    if wanted == "filter":
        install_filter(libc, os.uname().machine)
    os.dup2(int(err_fd), 2)
    os.close(int(err_fd))
    os.execv(python, [python, script])


if __name__ == "__main__":
    import sys

    # fd 2 is the tracer's stderr until the dup2: a failure here is the grader's, said in its own words
    keep = os.dup(2)  # not inheritable (PEP 446): it closes at the exec
    try:
        main(sys.argv)
    except (OSError, ValueError, KeyError) as err:
        os.write(keep, f"grade: cannot start the program as the student: {err}\n".encode())
    os._exit(127)
