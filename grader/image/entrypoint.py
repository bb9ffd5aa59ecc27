"""Root entrypoint of a run: DNS on loopback, the submission under `strace -u student`, limits, cleanup.

Runs inside the sandbox (the container, or the host with `--sandbox none`) with the standard library
only. It writes exactly one line to its stdout: a marker and a JSON result. The student's program
never holds that stdout: its stdout and stderr are pipes this process drains, and the trace is written
by root into a root-only folder, so the student can neither forge nor read the result.
"""

import base64
import contextlib
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

MARKER = "@@GRADE-RESULT@@"
TRACED = (
    "trace=%process,kill,tkill,tgkill,write,writev,pipe,pipe2,dup,dup2,dup3,fcntl,close,ptrace,setsid,setpgid,prctl,"
    "clock_nanosleep,nanosleep,sendmsg,recvmsg"
)
POLL_S = 0.02


def start_dns(cfg, rundir):
    """dnsmasq on 127.0.0.1, answering the exercise's names and logging every query."""
    log = os.path.join(rundir, "dns.log")
    exe = shutil.which("dnsmasq", path="/usr/sbin:/usr/bin:/sbin:/bin")
    if not cfg.get("dns", True) or exe is None:
        return None, "dnsmasq not started"
    conf = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dnsmasq.conf")
    pidfile = os.path.join(rundir, "dnsmasq.pid")
    res = subprocess.run(
        [exe, "--conf-file=" + conf, "--log-facility=" + log, "--pid-file=" + pidfile, *cfg.get("dns_args", [])],
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


def proc_state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def uid_of(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("Uid:"))
    except (OSError, StopIteration, ValueError):
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
    "do_sys_poll": "polling (select/poll)",
    "do_select": "polling (select/poll)",
    "ep_poll": "polling (epoll)",
    "do_signal_stop": "stopped by a signal",
    "sigsuspend": "waiting for a signal (pause)",
    "ptrace_stop": "held at a system call or a stop signal",
    "unix_stream_read_generic": "reading a socket",
}


def snapshot(uid):
    """What each live student process was doing when the run was stopped: pid -> description.

    /proc/PID/wchan is readable across users (unlike /proc/PID/syscall): the kernel function it waits in.
    """
    seen = {}
    for pid in processes_of(uid):
        state = proc_state(pid)
        try:
            with open(f"/proc/{pid}/wchan") as f:
                wchan = f.read().strip()
        except OSError:
            wchan = ""
        if state == "R":
            seen[pid] = "running on the CPU"
        elif state == "T":
            seen[pid] = "stopped by a signal"
        elif wchan and wchan != "0":
            seen[pid] = WCHAN.get(wchan, f"blocked in {wchan}")
        else:
            seen[pid] = "sleeping"
    return seen


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


def main():
    cfg = json.loads(os.environ.pop("GRADE_CONFIG"))
    rundir = cfg["rundir"]
    os.makedirs(rundir, mode=0o700, exist_ok=True)
    os.chmod(rundir, 0o700)
    if "source_z" in cfg:  # the submission travels in the configuration: no host folder is shared
        os.makedirs(os.path.dirname(cfg["script"]), exist_ok=True)
        with open(cfg["script"], "wb") as f:
            f.write(zlib.decompress(base64.b64decode(cfg.pop("source_z"))))
        os.chmod(cfg["script"], 0o444)
    dns_log, dns_error = start_dns(cfg, rundir)
    user = cfg.get("user", "student")
    root = os.getuid() == 0
    entry = pwd.getpwnam(user) if root else pwd.getpwuid(os.getuid())
    trace_path = os.path.join(rundir, "trace")
    python = cfg.get("python") or shutil.which("python3")
    cmd = ["strace", "-f", "-q", "-ttt", "-s", "4096", "-o", trace_path, "-e", TRACED]
    if cfg.get("seccomp_bpf", True):
        cmd.append("--seccomp-bpf")
    if root:
        cmd += ["-u", user]
    cmd += [python, cfg["script"]]
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": cfg.get("workdir", "/tmp"),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "USER": user,
        "LOGNAME": user,
    }
    if cfg.get("start_method"):  # tests only: sitecustomize forces the method in every interpreter
        env["GRADE_START_METHOD"] = cfg["start_method"]
        env["PYTHONPATH"] = os.path.join(os.path.dirname(os.path.abspath(__file__)), "site")
    oom_before = oom_kills()
    killer = Killer(entry.pw_uid, entry.pw_gid, 0)  # forked now: at the pids limit fork fails
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    started = time.time()
    tracer = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=out_w,
        stderr=err_w,
        env=env,
        cwd=cfg.get("workdir", "/tmp"),
        preexec_fn=set_limits(cfg.get("rlimits", {})),
        start_new_session=True,
        close_fds=True,
    )
    killer.pgid = tracer.pid
    os.close(out_w)
    os.close(err_w)
    caps = {out_r: cfg["output_bytes"], err_r: cfg["output_bytes"]}
    kept = {out_r: bytearray(), err_r: bytearray()}
    total = {out_r: 0, err_r: 0}
    open_fds = [out_r, err_r]
    deadline = time.monotonic() + cfg["timeout"]  # restarted when main appears: its first exec
    main_pid = main_gone = kill_reason = kill_time = killed_at = None
    blocked = {}
    status = None
    tracer_done = 0.0
    while True:
        ready, _, _ = select.select(open_fds, [], [], POLL_S) if open_fds else ([], [], time.sleep(POLL_S))
        for fd in ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                open_fds.remove(fd)
                continue
            total[fd] += len(chunk)
            room = caps[fd] - len(kept[fd])
            if room > 0:
                kept[fd] += chunk[:room]
        now = time.monotonic()
        if status is None:
            status = tracer.poll()
            tracer_done = now
        if status is not None and not open_fds:
            break
        if status is not None and killed_at is None and now - tracer_done > 0.5:
            # strace is gone but a pipe is still open: something escaped the tracer. Kill it.
            kill_reason, kill_time, killed_at = "untraced", time.time(), now
            blocked = snapshot(entry.pw_uid) if root else {}
            killer.kill()
        if main_pid is None:
            main_pid = traced_main(trace_path)
            if main_pid is not None:
                deadline = now + cfg["timeout"]
        elif main_gone is None and proc_state(main_pid) in (None, "Z", "X"):
            main_gone = now
        reason = None
        if now > deadline:
            reason = "timeout"
        elif os.path.exists(trace_path) and os.path.getsize(trace_path) > cfg["trace_bytes"]:
            reason = "trace-limit"
        elif total[out_r] + total[err_r] > cfg.get("output_kill_bytes", 64 * cfg["output_bytes"]):
            reason = "output-limit"
        elif main_gone is not None and now - main_gone > cfg["grace"]:
            reason = "leftover"
        if reason and killed_at is None:
            kill_reason, kill_time, killed_at = reason, time.time(), now
            blocked = snapshot(entry.pw_uid) if root else {}
        if killed_at is not None and status is None:
            killer.kill()
            if now - killed_at > 3:
                tracer.kill()  # strace itself will not finish; its log so far is what we have
        if killed_at is not None and now - killed_at > 5:
            break
    if status is None:
        tracer.kill()
        status = tracer.wait()
    ended = time.time()
    killer.close()
    survivors = processes_of(entry.pw_uid) if root else []
    if survivors:  # alive after the tracer ended: they ran outside the trace
        killer.kill()
    with open(trace_path, "rb") as f:
        trace = f.read(cfg["trace_bytes"] + 1)
    stop_dns(rundir)
    oom_after = oom_kills()
    dns = ""
    if dns_log and os.path.exists(dns_log):
        with open(dns_log, "rb") as f:
            dns = f.read(65536).decode("utf-8", "replace")
    result = {
        "started": started,
        "ended": ended,
        "strace_status": status,
        "main_pid": main_pid,
        "kill_reason": kill_reason,
        "kill_time": kill_time,
        "stdout": base64.b64encode(bytes(kept[out_r])).decode(),
        "stdout_bytes": total[out_r],
        "stderr": base64.b64encode(bytes(kept[err_r])).decode(),
        "stderr_bytes": total[err_r],
        "trace_z": base64.b64encode(zlib.compress(trace[: cfg["trace_bytes"]], 3)).decode(),
        "trace_bytes": len(trace),
        "trace_truncated": len(trace) > cfg["trace_bytes"],
        "dns_log": dns,
        "dns_error": dns_error,
        "untraced": survivors,
        "blocked": blocked,
        "oom_kills": None if oom_after is None else oom_after - (oom_before or 0),
    }
    sys.stdout.write(MARKER + json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
