"""`grade doctor`: is every protection in place? Engine, image, kernel, seccomp, capabilities, tracer, DNS."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from grader.settings import Settings, load

out = Console(highlight=False)

# Runs inside a real sandbox as the student: every line is one protection seen from the inside. System call
# numbers differ by architecture (NR, filled in from the launcher's table, is keyed by `uname -m`).
PROBE = b"""
import ctypes, json, os, socket
NR = @@NUMBERS@@
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def errno_of(rc):
    return 0 if rc >= 0 else ctypes.get_errno()
found = {"uid": os.getuid(), "machine": os.uname().machine}
nr = NR[found["machine"]]
status = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
found.update(cap_eff=status["CapEff"].strip(), nnp=status["NoNewPrivs"].strip(), seccomp=status["Seccomp"].strip())
run = dict(l.split(":", 1) for l in open("/proc/1/status") if ":" in l)  # PID 1: the run's root entrypoint
found["run_caps"] = run["CapEff"].strip()
rc = libc.syscall(nr["clone"], 0x00800000 | 17, 0, 0, 0, 0)  # clone(CLONE_UNTRACED|SIGCHLD)
if rc == 0:
    libc.syscall(nr["exit"], 0)
found["clone_untraced"] = errno_of(rc)
found["clone3"] = errno_of(libc.syscall(nr["clone3"], 0, 0))
found["unshare"] = errno_of(libc.unshare(0x10000000))
action = ctypes.c_uint(0x7FC00000)  # may the student install a filter of its own (SECCOMP_RET_USER_NOTIF)?
found["own_filter"] = errno_of(libc.syscall(nr["seccomp"], 2, 0, ctypes.byref(action)))  # GET_ACTION_AVAIL
try:
    os.kill(os.getppid(), 0)
    found["kill_tracer"] = 0
except OSError as err:
    found["kill_tracer"] = err.errno
try:
    socket.create_connection(("1.1.1.1", 53), timeout=1).close()
    found["network"] = "reached 1.1.1.1"
except OSError as err:
    found["network"] = "refused: %s" % err.strerror
try:
    socket.socket(40, socket.SOCK_STREAM).close()  # AF_VSOCK: to the hypervisor's host, past --network none
    found["vsock"] = 0
except OSError as err:
    found["vsock"] = err.errno
try:
    found["dns"] = socket.gethostbyname("www.python.org")
except OSError as err:
    found["dns"] = "failed: %s" % err
print("@@PROBE@@" + json.dumps(found))
"""
PROBED = ("exit", "clone", "clone3", "seccomp")
# capability bits, in the kernel's order (include/uapi/linux/capability.h)
CAPABILITIES = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
]


def probe_source() -> bytes:
    """PROBE with every architecture's system call numbers (the launcher's table: one source for both)."""
    from grader.image.as_student import SYSCALLS

    numbers = {arch: {name: table[name] for name in PROBED} for arch, table in SYSCALLS.items()}
    return PROBE.replace(b"@@NUMBERS@@", repr(numbers).encode())


def capability_names(mask: str) -> str:
    """A /proc CapEff hex mask as names: what the run's root entrypoint may do."""
    bits = int(mask, 16)
    names = [name for i, name in enumerate(CAPABILITIES) if bits >> i & 1]
    unknown = bits >> len(CAPABILITIES)
    return ", ".join(names + ([f"bits {unknown << len(CAPABILITIES):#x}"] if unknown else [])) or "none"


@dataclass(frozen=True)
class Finding:
    name: str
    ok: bool
    detail: str


def _probe(settings: Settings, image: str) -> tuple[dict[str, Any], Any]:
    """Run PROBE through the real sandbox (same profile, caps and limits as a grading run)."""
    from grader.sandbox.base import RunRequest
    from grader.sandbox.docker import DockerSandbox
    from grader.trace import parse

    s = settings.model_copy(update={"image": image, "timeout_s": 10.0})
    outcome = DockerSandbox(s).run(RunRequest(source=probe_source(), settings=s, dns=True))
    if outcome.infra_error:
        raise RuntimeError(outcome.infra_error)
    lines = outcome.stdout.decode("utf-8", "replace").splitlines()
    line = next((ln for ln in lines if ln.startswith("@@PROBE@@")), None)
    if line is None:
        raise RuntimeError(f"the probe printed nothing: {outcome.stderr.decode('utf-8', 'replace')[-200:]}")
    return json.loads(line[len("@@PROBE@@") :]), parse(outcome.trace)


def diagnose(settings: Settings) -> list[Finding]:
    """Every check in order; a check that cannot run says which earlier one it needs."""
    import docker.errors

    from grader.errors import GraderError
    from grader.image.tag import image_tag
    from grader.sandbox.docker import connect

    found: list[Finding] = []
    later = ("image", "kernel", "seccomp", "capabilities", "tracer", "network", "dns")
    try:
        client = connect(timeout=10)
        version = client.version()
        info = client.info()
        found.append(Finding("engine", True, f"Docker {version.get('Version')} (API {version.get('ApiVersion')})"))
    except GraderError as err:
        where = os.environ.get("DOCKER_HOST", "the default socket")
        found.append(Finding("engine", False, f"{err} (tried {where})"))
        return found + [Finding(name, False, "not checked: no engine") for name in later]
    tag = settings.image or image_tag()
    try:
        client.images.get(tag)
        found.append(Finding("image", True, tag))
    except docker.errors.ImageNotFound:
        found.append(Finding("image", False, f"{tag} is missing — build it with `grade image build`"))
    security = " ".join(info.get("SecurityOptions") or [])
    found.append(
        Finding(
            "kernel",
            "seccomp" in security,
            f"{info.get('KernelVersion')}, cgroup v{info.get('CgroupVersion', '?')}, "
            + ("seccomp supported" if "seccomp" in security else "NO seccomp support in the engine"),
        )
    )
    if not found[1].ok:
        return found + [Finding(name, False, "not checked: no image") for name in later[2:]]
    try:
        seen, tree = _probe(settings, tag)
    except Exception as err:  # noqa: BLE001 — any failure of the probe is itself the finding
        return found + [Finding(name, False, f"probe failed: {err}") for name in later[2:]]
    found += [_seccomp(seen), _capabilities(seen)]
    main = tree.main
    traced = main is not None and main.exit_code == 0 and seen["uid"] != 0 and seen["kill_tracer"] == 1
    found.append(
        Finding(
            "tracer",
            traced,
            f"strace saw main {main.pid if main else None} ({main.describe_end() if main else 'no trace'}); "
            f"student uid {seen['uid']}; kill(tracer) errno {seen['kill_tracer']} (want 1)",
        )
    )
    isolated = seen["network"].startswith("refused") and seen["vsock"] != 0
    vsock = "refused" if seen["vsock"] else "OPEN (reaches the hypervisor's host)"
    found.append(Finding("network", isolated, f"{seen['network']}; AF_VSOCK socket {vsock}"))
    found.append(Finding("dns", seen["dns"] == "151.101.0.223", f"www.python.org -> {seen['dns']} (loopback dnsmasq)"))
    return found


def _seccomp(seen: dict[str, Any]) -> Finding:
    wanted = {"clone_untraced": 1, "clone3": 38, "unshare": 1, "own_filter": 1}
    refused = all(seen[k] == v for k, v in wanted.items()) and seen["seccomp"] == "2"
    return Finding(
        "seccomp",
        refused,
        f"clone(CLONE_UNTRACED) errno {seen['clone_untraced']} (want 1), clone3 errno {seen['clone3']} (want 38), "
        f"unshare errno {seen['unshare']} (want 1), a filter of its own errno {seen['own_filter']} (want 1), "
        f"filter mode {seen['seccomp']} (want 2), on {seen['machine']}",
    )


def _capabilities(seen: dict[str, Any]) -> Finding:
    no_caps = int(seen["cap_eff"], 16) == 0 and seen["nnp"] == "1"
    return Finding(
        "capabilities",
        no_caps,
        f"the run holds {capability_names(seen['run_caps'])}; "
        f"the student: CapEff {seen['cap_eff']}, no-new-privileges {seen['nnp']}",
    )


def render(findings: list[Finding]) -> Table:
    table = Table(title="grade doctor", show_lines=False)
    table.add_column("check")
    table.add_column("", justify="center")
    table.add_column("detail", overflow="fold")
    for f in findings:
        table.add_row(f.name, "[green]✔[/]" if f.ok else "[bold red]✘[/]", f.detail)
    return table


def register(app: typer.Typer) -> None:
    @app.command()
    def doctor() -> None:
        """Check the engine, image, kernel, seccomp, capabilities and tracer; exit 1 if a protection is missing."""
        findings = diagnose(load())
        out.print(render(findings))
        missing = [f.name for f in findings if not f.ok]
        if missing:
            names = ", ".join(missing)
            out.print(f"[bold red]PROTECTION MISSING:[/] {names} — do not grade on this machine until fixed")
            raise typer.Exit(1)
        out.print("[green]all protections in place[/]")
