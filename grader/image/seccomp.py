"""The seccomp profile every run gets: what Docker's default refuses, plus clone(CLONE_UNTRACED).

A child created with CLONE_UNTRACED never shows up under `strace -f`, so it could work unseen. The profile
refuses clone() with that flag or any namespace flag (EPERM), and clone3() outright (ENOSYS, so the C
library falls back to clone). It is written as allow-by-default with explicit refusals: the container
already has every capability dropped but the two the launcher needs (SETUID, SETGID), so the refusals
below are the system calls that matter without capabilities, as in Docker's default profile.

It cannot refuse seccomp() itself: strace's --seccomp-bpf installs its filter in the child before the exec.
The launcher (as_student.py) adds a second filter after it, which does, in both sandboxes.
"""

from __future__ import annotations

import json

EPERM, ENOSYS = 1, 38
# AF_VSOCK talks to the hypervisor's host straight through any network namespace: `--network none` does
# not cover it (seen here: a container connected to the Firecracker host). Docker's default refuses it too.
AF_VSOCK = 40
# clone flags refused: CLONE_NEWNS, CLONE_UNTRACED, CLONE_NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET
CLONE_REFUSED_MASK = 0x7E820000
REFUSED = [
    "acct",
    "add_key",
    "bpf",
    "clock_adjtime",
    "clock_settime",
    "create_module",
    "delete_module",
    "finit_module",
    "fsconfig",
    "fsmount",
    "fsopen",
    "fspick",
    "get_kernel_syms",
    "get_mempolicy",
    "init_module",
    "io_uring_enter",
    "io_uring_register",
    "io_uring_setup",
    "ioperm",
    "iopl",
    "kcmp",
    "kexec_file_load",
    "kexec_load",
    "keyctl",
    "lookup_dcookie",
    "mbind",
    "mount",
    "mount_setattr",
    "move_mount",
    "move_pages",
    "name_to_handle_at",
    "nfsservctl",
    "open_by_handle_at",
    "open_tree",
    "perf_event_open",
    "pivot_root",
    # process_vm_readv stays allowed: strace reads each write()'s buffer with it (20,000 writes of 200 bytes:
    # 1.95 s instead of 3.2 s with PTRACE_PEEKDATA), and the student may only read its own processes
    "process_vm_writev",
    "query_module",
    "quotactl",
    "quotactl_fd",
    "reboot",
    "request_key",
    "set_mempolicy",
    "setns",
    "settimeofday",
    "stime",
    "swapoff",
    "swapon",
    "sysfs",
    "syslog",
    "_sysctl",
    "umount",
    "umount2",
    "unshare",
    "uselib",
    "userfaultfd",
    "ustat",
    "vm86",
    "vm86old",
    "pidfd_getfd",
]


def profile() -> dict[str, object]:
    clone_rules = [
        {
            "names": ["clone"],
            "action": "SCMP_ACT_ERRNO",
            "errnoRet": EPERM,
            "args": [{"index": 0, "value": bit, "valueTwo": bit, "op": "SCMP_CMP_MASKED_EQ"}],
        }
        for bit in (1 << i for i in range(32))
        if CLONE_REFUSED_MASK & bit
    ]
    return {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
        "syscalls": [
            {"names": REFUSED, "action": "SCMP_ACT_ERRNO", "errnoRet": EPERM},
            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOSYS},
            {
                "names": ["socket"],
                "action": "SCMP_ACT_ERRNO",
                "errnoRet": EPERM,
                "args": [{"index": 0, "value": AF_VSOCK, "op": "SCMP_CMP_EQ"}],
            },
            *clone_rules,
        ],
    }


def profile_json() -> str:
    return json.dumps(profile())
