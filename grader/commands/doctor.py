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

# Runs inside a real sandbox as the student: every line is one protection seen from the inside.
PROBE = b"""
import ctypes, json, os, socket
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def errno_of(rc):
    return 0 if rc >= 0 else ctypes.get_errno()
found = {"uid": os.getuid()}
status = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
found.update(cap_eff=status["CapEff"].strip(), nnp=status["NoNewPrivs"].strip(), seccomp=status["Seccomp"].strip())
rc = libc.syscall(56, 0x00800000 | 17, 0, 0, 0, 0)  # clone(CLONE_UNTRACED|SIGCHLD)
if rc == 0:
    libc.syscall(60, 0)
found["clone_untraced"] = errno_of(rc)
found["clone3"] = errno_of(libc.syscall(435, 0, 0))
found["unshare"] = errno_of(libc.unshare(0x10000000))
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
    outcome = DockerSandbox(s).run(RunRequest(source=PROBE, settings=s, dns=True))
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
    from grader.image.build import image_tag
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
    refused = seen["clone_untraced"] == 1 and seen["clone3"] == 38 and seen["unshare"] == 1 and seen["seccomp"] == "2"
    found.append(
        Finding(
            "seccomp",
            refused,
            f"clone(CLONE_UNTRACED) errno {seen['clone_untraced']} (want 1), clone3 errno {seen['clone3']} (want 38), "
            f"unshare errno {seen['unshare']} (want 1), filter mode {seen['seccomp']} (want 2)",
        )
    )
    no_caps = int(seen["cap_eff"], 16) == 0 and seen["nnp"] == "1"
    found.append(Finding("capabilities", no_caps, f"student CapEff {seen['cap_eff']}, no-new-privileges {seen['nnp']}"))
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
