"""The no-container sandbox: runs the root entrypoint directly, for hosts that already are a throwaway container.

Gradescope's autograder runs inside its own container without a Docker engine. There the entrypoint runs
as it would in ours: dnsmasq on loopback, strace with the launcher becoming `grade-student` inside the
trace, rlimits, its wall timeout and kill(-1) as that user. When root may create namespaces, each run
also gets its own PID, mount and network namespaces (like Docker's: the entrypoint is PID 1, no network,
a private /etc/resolv.conf pointing at dnsmasq). When it may not, /etc/resolv.conf is rewritten for the
run and restored afterwards (a throwaway container's file), and runs are serialized with a lock: the
student's uid, kill(-1) and port 53 are machine-wide.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from grader.errors import GraderError
from grader.image.policy import Policy
from grader.sandbox.base import NONE_UID, RunRequest, entrypoint_policy
from grader.sandbox.outcome import RunOutcome
from grader.settings import Settings

IMAGE = Path(__file__).resolve().parent.parent / "image"
ENTRYPOINT = IMAGE / "entrypoint.py"
RESOLV = IMAGE / "resolv.conf"
LOCK_NAME = "grade-none.lock"
TEMP_PREFIX = "grade-none-"  # one run's scratch; `grade clean` removes those a killed grader left
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# A name no person has: on a lab machine `student` is often a real login, whose files and processes a
# hostile program (and kill(-1)) must not reach.
STUDENT = "grade-student"
NOLOGIN = "/usr/sbin/nologin"
USERADD_RACES = (4, 9)  # useradd(8): uid or name taken, by another grader creating it a moment ago
UNPRIVILEGED = (
    "--sandbox none without root: the program runs as this user, untraced by -u, with no separate uid, "
    "so it can read and kill this user's files and processes, and DNS answers come from the real resolver"
)
# Runs inside the new namespaces before the entrypoint: loopback up (dnsmasq listens there) and this run's
# own resolv.conf over the shared one. stdlib only, as the entrypoint.
LAUNCH = """
import ctypes, fcntl, os, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
flags = struct.unpack("16sH", fcntl.ioctl(s, 0x8913, struct.pack("16sH14s", b"lo", 0, b""))[:18])[1]
fcntl.ioctl(s, 0x8914, struct.pack("16sH14s", b"lo", flags | 1, b""))
libc = ctypes.CDLL(None, use_errno=True)
if libc.mount(sys.argv[1].encode(), b"/etc/resolv.conf", None, 4096, None) != 0:
    sys.exit("cannot bind-mount resolv.conf: " + os.strerror(ctypes.get_errno()))
os.execv(sys.executable, [sys.executable, "-I", sys.argv[2]])
"""


def ensure_student() -> pwd.struct_passwd:
    """The unprivileged user submissions run as: created (with NONE_UID when free) when missing."""
    error = ""
    for _ in range(25):  # graders started together race to create it; useradd refuses while another holds the lock
        try:
            return pwd.getpwnam(STUDENT)
        except KeyError:
            pass
        try:
            pwd.getpwuid(NONE_UID)
            uid: list[str] = []
        except KeyError:
            uid = ["--uid", str(NONE_UID)]
        cmd = ["useradd", *uid, "--user-group", "--no-create-home", "--home-dir", "/tmp", "--shell", NOLOGIN]
        try:
            res = subprocess.run([*cmd, STUDENT], capture_output=True, text=True)
        except OSError as e:
            raise GraderError(f"cannot run useradd ({e.strerror}) — install the passwd package") from None
        if res.returncode == 0:
            return pwd.getpwnam(STUDENT)
        error = res.stderr.strip()
        if res.returncode not in USERADD_RACES and "lock" not in error.lower():
            break  # not a race with another grader: say why at once
        time.sleep(0.2)
    raise GraderError(f"cannot create the {STUDENT!r} user ({error}) — create it with useradd")


def _world_runnable(path: str) -> bool:
    """Whether another user can run `path`: the file and every folder above it open to others."""
    real = Path(os.path.realpath(path))
    return all(p.stat().st_mode & 0o001 for p in (real, *real.parents))


def student_python() -> str:
    for candidate in (shutil.which("python3", path=SYSTEM_PATH), sys.executable):
        if candidate and _world_runnable(candidate):
            return candidate
    raise GraderError("no python3 that other users can run — install python3 in /usr/bin")


def rlimits(s: Settings) -> dict[str, int]:
    # nproc stands in for the container's pids limit; cpu sits above the wall timeout so a busy loop
    # still ends as a timeout, as in Docker; address space is looser than the cgroup's memory limit
    # because it also counts reserved-but-unused memory (thread stacks, malloc arenas).
    return {**s.rlimits(), "nproc": s.pids, "cpu": int(s.timeout_s) + 5, "as": (s.memory_mb << 20) * 4}


def lock_path() -> Path:
    """Where runs take their turn. Root's lock lies in a root-owned folder nobody else may write (in the shared
    temp folder another user could plant a link there for root to follow); anyone else's is their own file."""
    if os.geteuid() == 0:
        for folder in (Path("/run"), Path("/var/run")):
            try:
                st = folder.stat()
            except OSError:
                continue
            if st.st_uid == 0 and not st.st_mode & 0o022:
                return folder / LOCK_NAME
    return Path(tempfile.gettempdir()) / f"grade-none-{os.geteuid()}.lock"


@contextmanager
def _serialized(path: Path | None = None) -> Iterator[None]:
    path = path or lock_path()
    try:  # O_NOFOLLOW: a link in its place is refused, never followed
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as err:
        raise GraderError(f"cannot open the lock file {path} ({err.strerror}) — remove it if it is a link") from None
    try:
        if os.fstat(fd).st_uid != os.geteuid():
            raise GraderError(f"the lock file {path} belongs to another user — remove it")
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


@contextmanager
def _resolver_swapped(enabled: bool) -> Iterator[None]:
    """Point /etc/resolv.conf at dnsmasq for one run; the original comes back whatever happens."""
    target = Path("/etc/resolv.conf")
    if not enabled:
        yield
        return
    try:
        saved: bytes | None = target.read_bytes()
    except OSError:
        saved = None
    try:
        # written in place, not renamed over: in a container the file is usually a bind mount
        target.write_bytes(RESOLV.read_bytes())
        yield
    finally:
        if saved is None:
            target.unlink(missing_ok=True)
        else:
            target.write_bytes(saved)


def namespaces_work() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = ["unshare", "--mount", "--net", "--pid", "--fork", "--mount-proc", "true"]
    return subprocess.run(probe, capture_output=True).returncode == 0


class NoneSandbox:
    name = "none"

    def __init__(self, settings: Settings, *, progress: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.root = os.geteuid() == 0
        self.user = ensure_student() if self.root else pwd.getpwuid(os.getuid())
        self.python = student_python()
        self.namespaces = namespaces_work()
        self.notice = None if self.root else UNPRIVILEGED

    def _policy(self, request: RunRequest, base: Path) -> Policy:
        code, run, work = (base / "code"), (base / "run"), (base / "work")
        code.mkdir(mode=0o755)
        run.mkdir(mode=0o700)
        work.mkdir(mode=0o700)
        os.chmod(base, 0o755)  # mkdtemp makes it 0700: the student must reach code/ and work/
        os.chmod(code, 0o755)
        script = code / "solution.py"
        script.write_bytes(request.source)
        script.chmod(0o444)
        if self.root:
            os.chown(work, self.user.pw_uid, self.user.pw_gid)
        return entrypoint_policy(
            request,
            script=str(script),
            rundir=str(run),
            workdir=str(work),
            source_z=None,  # written above, where the student can read it
            user=self.user.pw_name,
            uid=None,  # the account's own
            python=self.python,
            rlimits=rlimits(request.settings),
        )

    def _command(self) -> list[str]:
        entry = [sys.executable, "-I", str(ENTRYPOINT)]
        if not self.namespaces:
            return entry
        # --kill-child: a timed-out run ends its whole PID namespace with it
        ns = ["unshare", "--mount", "--net", "--pid", "--fork", "--kill-child", "--mount-proc", "--"]
        return [*ns, sys.executable, "-I", "-c", LAUNCH, str(RESOLV), str(ENTRYPOINT)]

    def run(self, request: RunRequest) -> RunOutcome:
        s = request.settings
        swap = self.root and request.dns and not self.namespaces
        with _serialized(), tempfile.TemporaryDirectory(prefix=TEMP_PREFIX) as tmp, _resolver_swapped(swap):
            policy = self._policy(request, Path(tmp))
            env = {"GRADE_CONFIG": policy.to_json(), "PATH": SYSTEM_PATH, "LANG": "C.UTF-8"}
            try:
                res = subprocess.run(
                    self._command(),
                    env=env,
                    capture_output=True,
                    timeout=s.timeout_s + s.start_margin_s,
                )
            except subprocess.TimeoutExpired:
                why = "the entrypoint did not end by itself and was killed"
                return RunOutcome(kill_reason="timeout", infra_error=why)
            text = res.stdout.decode("utf-8", "replace")
            if res.returncode:
                text += "\n" + res.stderr.decode("utf-8", "replace")[-2000:]
            return RunOutcome.from_entrypoint(text)
