"""Root entrypoint of a run: DNS on loopback, the submission traced by strace as the student, limits, cleanup.

Runs inside the sandbox (the container, or the host with `--sandbox none`) with the standard library
only. It writes exactly one line to its stdout: a marker and a JSON result. The student's program
never holds that stdout: its stdout and stderr are pipes this process drains, and the trace is written
by root into a root-only folder, so the student can neither forge nor read the result.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import importlib.util
import json
import os
import pwd
import resource
import select
import shutil
import signal
import subprocess
import sys
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def _policy_module():
    """policy.py, the contract with the grader: beside this file (/opt/grade/ in the image, grader/image/ under
    --sandbox none), loaded by path because `python3 -I` keeps this folder off sys.path."""
    if __package__:  # imported as grader.image.entrypoint (tests): the grader's own module, the same class
        return importlib.import_module(__package__ + ".policy")
    spec = importlib.util.spec_from_file_location("grade_policy", os.path.join(HERE, "policy.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses looks its module up while it makes the class
    spec.loader.exec_module(module)
    return module


policy_module = _policy_module()
MARKER = policy_module.MARKER
TRACED = (
    "trace=%process,kill,tkill,tgkill,write,writev,pipe,pipe2,dup,dup2,dup3,fcntl,close,ptrace,setsid,setpgid,prctl,"
    "clock_nanosleep,nanosleep,sendmsg,recvmsg,socketpair"
)
POLL_S = 0.02
TRACER_BYTES = 64 << 10  # strace's own stderr kept: its messages are short
PR_SET_CHILD_SUBREAPER = 36
LAUNCHER = os.path.join(HERE, "as_student.py")


def start_dns(policy, rundir):
    """dnsmasq on 127.0.0.1, answering the exercise's names and logging every query."""
    log = os.path.join(rundir, "dns.log")
    exe = shutil.which("dnsmasq", path="/usr/sbin:/usr/bin:/sbin:/bin")
    if not policy.dns or exe is None:
        return None, "dnsmasq not started"
    conf = os.path.join(HERE, "dnsmasq.conf")
    pidfile = os.path.join(rundir, "dnsmasq.pid")
    res = subprocess.run(
        [exe, "--conf-file=" + conf, "--log-facility=" + log, "--pid-file=" + pidfile],
        capture_output=True,
        text=True,
        timeout=5,
    )
    return log, (res.stderr.strip() or None) if res.returncode else None


def stop_dns(rundir):
    """dnsmasq runs as a daemon: stop it, so a run outside a container leaves nothing behind."""
    try:
        with open(os.path.join(rundir, "dnsmasq.pid")) as f:
            os.kill(int(f.read().strip()), signal.SIGTERM)
    except (OSError, ValueError):
        pass


def set_limits(rl):
    def apply():
        for name, value in rl.items():
            res = getattr(resource, "RLIMIT_" + name.upper())
            resource.setrlimit(res, (value, value))

    return apply


def proc_state(pid, task=None):
    """A process's state letter (or one of its threads', given its `task` id)."""
    path = f"/proc/{pid}/stat" if task is None else f"/proc/{pid}/task/{task}/stat"
    try:
        with open(path) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def traced_main(trace_path):
    """The submission's main process: the PID on the trace's first line (strace logs its exec at once).

    Reading it from the trace, not from strace's children, cannot miss a main that ended before we looked,
    nor mistake strace's own short-lived probe children for it.
    """
    try:
        with open(trace_path, "rb") as f:
            head = f.read(24)
    except OSError:
        return None
    pid = head.split(b" ", 1)[0]
    return int(pid) if pid.isdigit() and b" " in head else None


def processes_of(uid):
    """PIDs of live processes owned by `uid` (zombies excluded)."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/status") as f:
                    fields = dict(line.split(":", 1) for line in f if ":" in line)
            except OSError:
                continue
            if int(fields["Uid"].split()[1]) == uid and fields["State"].split()[0] not in ("Z", "X"):
                found.append(int(name))
    return found


# kernel wait channels (/proc/PID/wchan) in the words a student knows
WCHAN = {
    "do_wait": "waiting for a child (wait)",
    "hrtimer_nanosleep": "sleeping (time.sleep)",
    "do_nanosleep": "sleeping (time.sleep)",
    "pipe_read": "reading a pipe",
    "pipe_write": "writing a full pipe",
    "anon_pipe_read": "reading a pipe",  # the names newer kernels use
    "anon_pipe_write": "writing a full pipe",
    "futex_wait_queue": "waiting on a lock (futex)",
    "futex_wait_queue_me": "waiting on a lock (futex)",
    "futex_do_wait": "waiting on a lock (futex)",
    "do_sys_poll": "polling (select/poll)",
    "do_select": "polling (select/poll)",
    "ep_poll": "polling (epoll)",
    "do_signal_stop": "stopped by a signal",
    "sigsuspend": "waiting for a signal (pause)",
    "ptrace_stop": "held at a system call or a stop signal",
    "unix_stream_read_generic": "reading a socket",
}


def describe(uid, *, besides=()):
    """What each live process of `uid` is doing: pid -> description, from /proc/PID/stat and /proc/PID/wchan.

    /proc/PID/wchan (the kernel function it waits in) needs ptrace-read access: the student's own uid has it
    over its processes, root without CAP_SYS_PTRACE does not (it reads "0"), so `snapshot` reads as the student.
    """
    seen = {}
    for pid in processes_of(uid):
        if pid in besides:
            continue
        seen[pid] = doing(pid)
        for tid in threads_of(pid)[:THREADS_DESCRIBED]:  # a deadlock is told by what each thread waits in
            seen[tid] = f"(thread of {pid}) {doing(pid, tid)}"
    return seen


THREADS_DESCRIBED = 8  # per process: a thread bomb's threads are not all listed


def threads_of(pid):
    """The ids of `pid`'s threads other than its main one."""
    try:
        return sorted(int(t) for t in os.listdir(f"/proc/{pid}/task") if t.isdigit() and int(t) != pid)
    except OSError:
        return []


def doing(pid, task=None):
    """What a process (or one of its threads) is doing, in the words of WCHAN."""
    state = proc_state(pid, task)
    try:
        with open(f"/proc/{pid}/wchan" if task is None else f"/proc/{pid}/task/{task}/wchan") as f:
            wchan = f.read().strip()
    except OSError:
        wchan = ""
    if state == "R":
        return "running on the CPU"
    if state == "T":
        return "stopped by a signal"
    if wchan and wchan != "0":
        return WCHAN.get(wchan, f"blocked in {wchan}")
    return "sleeping"


def snapshot(uid, gid, root):
    """What each live student process was doing when the run was stopped, read by a child that became the
    student (see `describe`). If that child cannot be made (the pids limit) or does not answer within a
    second (the student stopped or killed it), root reads what it can: the process states."""
    if not root:  # the student is this user: its other processes are not the program's
        return {}
    r, w = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(r)
        os.close(w)
        return describe(uid)
    if pid == 0:
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            os.write(w, json.dumps(describe(uid, besides=(os.getpid(),))).encode())
        finally:
            os._exit(0)
    os.close(w)
    data = bytearray()
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline and select.select([r], [], [], max(0.0, deadline - time.monotonic()))[0]:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    os.close(r)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # else reap_orphans collects it once the kill has reached it
    try:
        return {int(k): v for k, v in json.loads(data).items()}
    except ValueError:
        return describe(uid)


def oom_kills():
    """How many processes the kernel's OOM killer ended in this container (cgroup v2 or v1), or None."""
    for path in ("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control"):
        try:
            with open(path) as f:
                for line in f:
                    name, _, value = line.partition(" ")
                    if name == "oom_kill":
                        return int(value)
        except (OSError, ValueError):
            continue
    return None


class Killer:
    """SIGKILLs every process of the student, even when a fork bomb has used up the pids limit.

    kill(-1) sent *as the student* reaches all of its processes at once: the one call a fork bomb cannot
    outrun one process at a time. The helper that sends it is forked before the student starts (later,
    at the pids limit, fork fails), and stays root until it is told to fire, so the student cannot kill
    it first. Later calls fork a new helper, or, if that fails too, stop then kill each process as root.
    """

    def __init__(self, uid, gid, pgid):
        self.uid, self.gid, self.pgid = uid, gid, pgid
        self.root = os.getuid() == 0
        self.ready = self.helper = None
        if self.root:
            r, self.ready = os.pipe()
            self.helper = os.fork()
            if self.helper == 0:  # holds nothing but its trigger: no pipe of ours stays open through it
                os.closerange(3, r)
                os.closerange(r + 1, 65536)
                if os.read(r, 1):
                    self._fire()
                os._exit(0)
            os.close(r)

    def _fire(self):
        try:
            os.setgroups([])
            os.setgid(self.gid)
            os.setuid(self.uid)
            for _ in range(2000):
                os.kill(-1, signal.SIGKILL)
        except OSError:
            pass

    def kill(self):
        if not self.root:  # same uid as the student: the process group is what we can reach
            with contextlib.suppress(OSError):
                os.killpg(self.pgid, signal.SIGKILL)
            return
        if self.ready is not None:
            os.write(self.ready, b"k")
            os.close(self.ready)
            self.ready = None
            os.waitpid(self.helper, 0)
            return
        try:
            helper = os.fork()
        except OSError:  # pids limit reached: freeze each process as root, then kill them all
            for sig in (signal.SIGSTOP, signal.SIGKILL):
                for _ in range(3):
                    for pid in processes_of(self.uid):
                        with contextlib.suppress(OSError):
                            os.kill(pid, sig)
            return
        if helper == 0:
            self._fire()
            os._exit(0)
        os.waitpid(helper, 0)

    def close(self):
        if self.ready is not None:  # never fired: the helper exits without killing
            os.close(self.ready)
            self.ready = None
            os.waitpid(self.helper, 0)


def launch_command(policy, trace_path, uid, gid, err_fd):
    """strace, as root, runs the launcher as root (no CAP_SYS_PTRACE needed to attach to our own uid); the
    launcher becomes the student inside the traced process, then execs the student's Python."""
    python = policy.python or shutil.which("python3")
    cmd = ["strace", "-f", "-q", "-ttt", "-s", "4096", "-o", trace_path, "-e", TRACED, "--seccomp-bpf"]
    ids = [str(uid), str(gid)] if uid is not None else ["-", "-"]
    wanted = "filter" if policy.student_filter else "nofilter"  # off only in tests of the other layers
    return [*cmd, sys.executable, "-I", "-S", LAUNCHER, *ids, wanted, str(err_fd), python, policy.script]


def without_launcher(trace):
    """The trace from the student's exec on: the launcher's own lines (its start, the uid change, the
    filter, the dup2 that put the student's stderr on fd 2) are the grader's, not the program's.

    The launcher is one thread that creates nothing, so every line before its successful exec is its own.
    b"" when that exec never came: the program never ran, and the trace says nothing about it.
    """
    first = trace.find(b"\n")
    if first < 0:
        return b""
    pid = trace[: trace.find(b" ")] + b" "
    at = first + 1
    while at < len(trace):
        end = trace.find(b"\n", at)
        if end < 0:
            return b""
        line = trace[at:end]
        if not line.startswith(pid):
            return b""
        if b" execve(" in line and line.endswith(b") = 0"):
            return trace[at:]
        at = end + 1
    return b""


def reap_orphans(keep):
    """Reap ended processes that were re-parented to us, as an init must (their zombies would fill the pids
    limit). Our own children (`keep`) are left to their owners: once one of them has ended, the kernel reports
    it first, so reaping stops there until its owner has collected it."""
    while True:
        try:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return
        if info is None or info.si_pid in keep:
            return
        with contextlib.suppress(ChildProcessError):
            os.waitpid(info.si_pid, 0)


def become_subreaper():
    """Orphans of the student come to us (PID 1 in a container gets them anyway; outside one, the host's init would)."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def write_submission(policy):
    """The submission travels in the policy: no host folder is shared."""
    os.makedirs(os.path.dirname(policy.script), exist_ok=True)
    with open(policy.script, "wb") as f:
        f.write(zlib.decompress(base64.b64decode(policy.source_z)))
    os.chmod(policy.script, 0o444)


def student_env(policy, user):
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": policy.workdir,
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "USER": user,
        "LOGNAME": user,
    }
    if policy.start_method:  # tests only: sitecustomize forces the method in every interpreter
        env["GRADE_START_METHOD"] = policy.start_method
        env["PYTHONPATH"] = os.path.join(HERE, "site")
    return env


class Streams:
    """The student's stdout and stderr and the tracer's own stderr, drained as they come, each kept up to a cap."""

    def __init__(self, caps):
        self.caps = caps  # fd -> bytes kept
        self.kept = {fd: bytearray() for fd in caps}
        self.total = {fd: 0 for fd in caps}
        self.open = list(caps)

    def drain(self, timeout):
        ready, _, _ = select.select(self.open, [], [], timeout) if self.open else ([], [], time.sleep(timeout))
        for fd in ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                self.open.remove(fd)
                continue
            self.total[fd] += len(chunk)
            room = self.caps[fd] - len(self.kept[fd])
            if room > 0:
                self.kept[fd] += chunk[:room]


def read_policy():
    """The grader's policy from GRADE_CONFIG (taken out of the environment: no child inherits it), or one line
    on stderr and exit status 2 (the sandbox reports "ended without a result" with that line)."""
    try:
        return policy_module.Policy.from_json(os.environ.pop("GRADE_CONFIG", ""))
    except policy_module.PolicyError as err:
        sys.stderr.write(f"grade entrypoint: {err}\n")
        sys.exit(2)


def prepare(policy):
    """The root-only run folder, the submission in place (when the policy carries it), and orphans coming to us."""
    os.makedirs(policy.rundir, mode=0o700, exist_ok=True)
    os.chmod(policy.rundir, 0o700)
    if policy.source_z is not None:
        write_submission(policy)
    become_subreaper()


@dataclasses.dataclass(frozen=True)
class Student:
    """Who the program runs as. `root` False: the entrypoint itself is that user (--sandbox none without root)."""

    user: str
    uid: int
    gid: int
    root: bool


def student_of(policy):
    root = os.getuid() == 0
    entry = pwd.getpwnam(policy.user) if root else pwd.getpwuid(os.getuid())
    # this run's own uid from the image's pool (the grader picks one no other run holds): the kernel's per-uid
    # counts (processes, inotify instances, pipe buffers) are then not shared with a concurrent run
    if root and policy.uid is not None:
        return Student(policy.user, policy.uid, policy.uid, root)
    return Student(policy.user, entry.pw_uid, entry.pw_gid, root)


@dataclasses.dataclass
class Run:
    """The started tracer and the pipes it and the program write to."""

    tracer: subprocess.Popen
    streams: Streams
    out_r: int
    err_r: int
    tracer_r: int
    trace_path: str
    started: float

    def printed(self):
        return self.streams.total[self.out_r] + self.streams.total[self.err_r]


def start_tracer(policy, student, trace_path):
    """strace, in its own session, with the launcher and the program under it: their pipes, folder and limits."""
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    tracer_r, tracer_w = os.pipe()
    started = time.time()
    tracer = subprocess.Popen(
        launch_command(policy, trace_path, student.uid if student.root else None, student.gid, err_w),
        stdin=subprocess.DEVNULL,
        stdout=out_w,
        stderr=tracer_w,
        pass_fds=(err_w,),
        env=student_env(policy, student.user),
        cwd=policy.workdir,
        preexec_fn=set_limits(policy.rlimits),
        start_new_session=True,
        close_fds=True,
    )
    for fd in (out_w, err_w, tracer_w):
        os.close(fd)
    streams = Streams({out_r: policy.output_bytes, err_r: policy.output_bytes, tracer_r: TRACER_BYTES})
    return Run(tracer, streams, out_r, err_r, tracer_r, trace_path, started)


UNTRACED_AFTER_S = 0.5  # strace ended, a pipe still open this long after: something escaped the tracer
KILL_TRACER_AFTER_S = 3  # a kill this old and strace still running: strace itself will not finish
GIVE_UP_AFTER_S = 5  # a kill this old: stop watching, whatever is still open


class Watch:
    """What the drain-and-watch loop has seen of a run, on the monotonic clock. Its decisions are pure functions
    of this state and of what the loop observed at `now`; `watch_run` observes and acts."""

    def __init__(self, policy, now):
        self.timeout, self.grace = policy.timeout, policy.grace
        self.trace_bytes, self.output_kill_bytes = policy.trace_bytes, policy.output_kill_bytes
        self.deadline = now + policy.timeout  # restarted when main appears: its first exec
        self.status = None  # strace's exit status, once it has ended
        self.tracer_done = 0.0  # when strace was last polled while running, or found ended
        self.main_pid = self.main_gone = None
        self.kill_reason = self.kill_time = self.killed_at = None
        self.blocked = {}  # pid -> what it was doing when the run was stopped

    def tracer_polled(self, status, now):
        self.status, self.tracer_done = status, now

    def main_started(self, pid, now):
        self.main_pid, self.deadline = pid, now + self.timeout

    def main_ended(self, now):
        self.main_gone = now

    def stopped(self, reason, now, wall):
        self.kill_reason, self.kill_time, self.killed_at = reason, wall, now

    def finished(self, streams_open):
        """strace has ended and every pipe is closed: nothing more can come."""
        return self.status is not None and not streams_open

    def untraced(self, now):
        """strace has ended but a pipe is still open: something escaped the tracer (decided once)."""
        return self.status is not None and self.killed_at is None and now - self.tracer_done > UNTRACED_AFTER_S

    def limit(self, now, trace_size, printed):
        """The limit the run has passed (the first in this order), or None; None once the run is being stopped."""
        if self.killed_at is not None:
            return None
        if now > self.deadline:
            return "timeout"
        if trace_size > self.trace_bytes:
            return "trace-limit"
        if printed > self.output_kill_bytes:
            return "output-limit"
        if self.main_gone is not None and now - self.main_gone > self.grace:
            return "leftover"
        return None

    def killing(self):
        """Stopped while strace still runs: the kill goes out again each round (what it missed may have forked)."""
        return self.killed_at is not None and self.status is None

    def kill_tracer(self, now):
        return self.killing() and now - self.killed_at > KILL_TRACER_AFTER_S

    def give_up(self, now):
        return self.killed_at is not None and now - self.killed_at > GIVE_UP_AFTER_S


def trace_size(path):
    try:
        return os.path.getsize(path)
    except OSError:  # strace has not created it yet
        return 0


def observe_main(watch, trace_path, now):
    """The program's main process: when it first appears in the trace, and when it has ended."""
    if watch.main_pid is None:
        pid = traced_main(trace_path)
        if pid is not None:
            watch.main_started(pid, now)
    elif watch.main_gone is None and proc_state(watch.main_pid) in (None, "Z", "X"):
        watch.main_ended(now)


def stop(watch, reason, now, student):
    """Note why and when the run is stopped, and what each student process was doing then."""
    watch.stopped(reason, now, time.time())
    watch.blocked = snapshot(student.uid, student.gid, student.root)


def kill(watch, killer, tracer, now):
    killer.kill()
    if watch.kill_tracer(now):
        tracer.kill()  # strace itself will not finish; its log so far is what we have


def watch_run(policy, run, student, killer):
    """Drain the pipes and watch the limits until strace has ended with every pipe closed, or a kill is old."""
    watch = Watch(policy, time.monotonic())
    while True:
        run.streams.drain(POLL_S)
        reap_orphans({run.tracer.pid, killer.helper})
        now = time.monotonic()
        if watch.status is None:
            watch.tracer_polled(run.tracer.poll(), now)
        if watch.finished(bool(run.streams.open)):
            break
        if watch.untraced(now):
            stop(watch, "untraced", now, student)
            killer.kill()
        observe_main(watch, run.trace_path, now)
        reason = watch.limit(now, trace_size(run.trace_path), run.printed())
        if reason:
            stop(watch, reason, now, student)
        if watch.killing():
            kill(watch, killer, run.tracer, now)
        if watch.give_up(now):
            break
    return watch


def end_tracer(watch, tracer):
    if watch.status is None:
        tracer.kill()
        watch.status = tracer.wait()


def sweep(killer, student):
    """The student's processes still alive after the tracer ended ran outside the trace: killed, and returned."""
    killer.close()
    survivors = processes_of(student.uid) if student.root else []
    if survivors:
        killer.kill()
    return survivors


def read_trace(trace_path, limit):
    """The program's trace, up to `limit` bytes and without the launcher's lines; whether it was longer."""
    with open(trace_path, "rb") as f:
        trace = f.read(limit + 1)
    return without_launcher(trace[:limit]), len(trace) > limit


def read_dns_log(dns_log):
    if dns_log and os.path.exists(dns_log):
        with open(dns_log, "rb") as f:
            return f.read(65536).decode("utf-8", "replace")
    return ""


def collect(policy, run, watch, *, ended, survivors, dns, oom_before):
    """After the run: the trace read, dnsmasq stopped and its log read (`dns`: start_dns's log path and error),
    the OOM kills counted; the one result line's JSON object (grader/sandbox/base.py RunOutcome reads it)."""
    dns_log, dns_error = dns
    trace, truncated = read_trace(run.trace_path, policy.trace_bytes)
    stop_dns(policy.rundir)
    oom_after = oom_kills()
    return {
        "started": run.started,
        "ended": ended,
        "strace_status": watch.status,
        "main_pid": watch.main_pid,
        "kill_reason": watch.kill_reason,
        "kill_time": watch.kill_time,
        "stdout": base64.b64encode(bytes(run.streams.kept[run.out_r])).decode(),
        "stdout_bytes": run.streams.total[run.out_r],
        "stderr": base64.b64encode(bytes(run.streams.kept[run.err_r])).decode(),
        "stderr_bytes": run.streams.total[run.err_r],
        "tracer_stderr": bytes(run.streams.kept[run.tracer_r]).decode("utf-8", "replace"),
        "trace_z": base64.b64encode(zlib.compress(trace, 3)).decode(),
        "trace_bytes": len(trace),
        "trace_truncated": truncated,
        "dns_log": read_dns_log(dns_log),
        "dns_error": dns_error,
        "untraced": survivors,
        "blocked": watch.blocked,
        "oom_kills": None if oom_after is None else oom_after - (oom_before or 0),
    }


def main():
    policy = read_policy()
    prepare(policy)
    dns = start_dns(policy, policy.rundir)
    student = student_of(policy)
    trace_path = os.path.join(policy.rundir, "trace")
    oom_before = oom_kills()
    killer = Killer(student.uid, student.gid, 0)  # forked now: at the pids limit fork fails
    run = start_tracer(policy, student, trace_path)
    killer.pgid = run.tracer.pid
    watch = watch_run(policy, run, student, killer)
    end_tracer(watch, run.tracer)
    ended = time.time()
    survivors = sweep(killer, student)
    found = collect(policy, run, watch, ended=ended, survivors=survivors, dns=dns, oom_before=oom_before)
    sys.stdout.write(MARKER + json.dumps(found) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
