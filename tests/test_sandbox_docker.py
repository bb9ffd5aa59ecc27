"""The Docker sandbox holds: limits as configured, Ctrl-C and SIGTERM clean up, the kill path works, and the
judge fails closed on untraced processes, tracer errors and broken traces."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
import uuid
import zlib
from pathlib import Path

import pytest

from grader.catalog import resolve
from grader.grading import judge
from grader.image import seccomp
from grader.sandbox.base import IMAGE_UIDS, RunOutcome, RunRequest
from grader.sandbox.docker import DockerSandbox
from grader.settings import Settings

from .conftest import ROOT, ctrl_c_as_at_a_terminal

ATTACKS = Path(__file__).parent / "attacks" / "programs"
docker_test = pytest.mark.docker


def gone(container: str | None) -> bool:
    assert container is not None
    ps = ["docker", "ps", "-a", "-q", "--no-trunc", "--filter", f"id={container}"]
    return subprocess.run(ps, capture_output=True, text=True, check=True).stdout.strip() == ""


PROBE = b"""
import os, resource
def read(path):
    try:
        return open(path).read().split()[0]
    except OSError:
        return "-"
print("nofile", resource.getrlimit(resource.RLIMIT_NOFILE)[1])
print("fsize", resource.getrlimit(resource.RLIMIT_FSIZE)[1])
print("core", resource.getrlimit(resource.RLIMIT_CORE)[1])
print("pids", read("/sys/fs/cgroup/pids/pids.max"), read("/sys/fs/cgroup/pids.max"))
print("mem", read("/sys/fs/cgroup/memory/memory.limit_in_bytes"), read("/sys/fs/cgroup/memory.max"))
print("memsw", read("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"), read("/sys/fs/cgroup/memory.swap.max"))
print("cpu", read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), read("/sys/fs/cgroup/cpu.max"))
st = os.statvfs("/tmp")
print("tmp", st.f_blocks * st.f_frsize, st.f_files)
print("uid", os.getuid(), os.geteuid())
print("status", [l.split()[1] for l in open("/proc/self/status") if l.startswith(("CapEff", "NoNewPrivs"))])
"""


@docker_test
def test_limits_are_the_configured_ones() -> None:
    s = Settings(timeout_s=5, pids=50, memory_mb=200, cpus=0.5, nofile=100, fsize_mb=5, tmpfs_mb=8, tmpfs_inodes=500)
    out = DockerSandbox(s).run(RunRequest(source=PROBE, settings=s, dns=False))
    seen = {line.split()[0]: line.split()[1:] for line in out.stdout.decode().splitlines()}
    assert seen["nofile"] == ["100"] and seen["fsize"] == [str(5 << 20)] and seen["core"] == ["0"], seen
    assert "50" in seen["pids"], seen
    assert str(200 << 20) in seen["mem"], seen
    assert seen["memsw"][0] in ("-", str(200 << 20)) and seen["memsw"][1] in ("-", "0"), seen  # no swap on top
    assert seen["cpu"][0] == "50000" or seen["cpu"][1] == "50000", seen
    assert seen["tmp"] == [str(8 << 20), "500"], seen
    assert seen["uid"][0] == seen["uid"][1] and int(seen["uid"][0]) in IMAGE_UIDS, seen
    assert seen["status"][0] == "['0000000000000000',", seen  # the student holds no capability at all


@docker_test
def test_clone_untraced_is_refused_and_clone3_is_enosys(sandbox) -> None:  # type: ignore[no-untyped-def]
    s = Settings(timeout_s=5)
    out = sandbox.run(RunRequest(source=(ATTACKS / "clone_untraced.py").read_bytes(), settings=s, dns=False))
    assert b"clone errno=1\n" in out.stdout  # EPERM from the seccomp profile
    report = judge(resolve("ex1"), out, s)
    assert report.status == "failed" and not report.full_marks
    out = sandbox.run(RunRequest(source=(ATTACKS / "clone3.py").read_bytes(), settings=s, dns=False))
    assert b"clone3 rc=-1 errno=38" in out.stdout  # ENOSYS


@docker_test
def test_an_untraced_child_makes_the_run_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the CLONE_UNTRACED refusal taken out of the profile and the launcher's filter, the hidden child is
    caught anyway."""
    s = Settings(timeout_s=5)
    weak = DockerSandbox(s)
    monkeypatch.setattr(weak, "config_overrides", {"student_filter": False})
    profile = seccomp.profile()
    rules = profile["syscalls"]
    assert isinstance(rules, list)
    untraced_bit = 0x00800000
    profile["syscalls"] = [r for r in rules if not any(a["value"] == untraced_bit for a in r.get("args", []))]
    weak._profile = json.dumps(profile)
    out = weak.run(RunRequest(source=(ATTACKS / "clone_untraced.py").read_bytes(), settings=s, dns=False))
    assert b"clone errno" not in out.stdout, out.stdout  # the weakened profile let it through
    report = judge(resolve("ex1"), out, s)
    assert report.status == "error" and report.score == 0, report.reason
    assert report.reason and report.reason.startswith("untraced: "), report.reason
    assert gone(weak.last_container)


@docker_test
def test_a_container_that_outlives_its_margin_is_killed_and_removed() -> None:
    """The engine-side deadline (timeout + start margin) is the last line: kill, then remove."""

    class Stubborn(DockerSandbox):
        """Its entrypoint is told 60 s while the engine-side deadline is 1.5 s: it cannot end by itself in time."""

        def _create(self, request: RunRequest, uid: int) -> str:
            patient = request.settings.model_copy(update={"timeout_s": 60.0})
            return super()._create(request.model_copy(update={"settings": patient}), uid)

    s = Settings(timeout_s=1, start_margin_s=0.5)
    sb = Stubborn(s)
    t0 = time.monotonic()
    out = sb.run(RunRequest(source=b"import time\ntime.sleep(60)\n", settings=s, dns=False))
    assert time.monotonic() - t0 < 10
    assert out.kill_reason == "timeout"
    assert out.infra_error and "did not end by itself" in out.infra_error
    assert gone(sb.last_container)


def _find_container(token: str, deadline: float) -> str:
    """The running container whose submission carries `token` (parallel-safe: other runs are ignored)."""
    while time.monotonic() < deadline:
        ids = subprocess.run(
            ["docker", "ps", "-q", "--no-trunc", "--filter", "label=grade.run"], capture_output=True, text=True
        ).stdout.split()
        for cid in ids:
            env = subprocess.run(
                ["docker", "inspect", "--format", "{{json .Config.Env}}", cid], capture_output=True, text=True
            ).stdout
            for item in json.loads(env.strip() or "[]"):
                if item.startswith("GRADE_CONFIG="):
                    config = json.loads(item.split("=", 1)[1])
                    if token in zlib.decompress(base64.b64decode(config.get("source_z", ""))).decode():
                        return cid
        time.sleep(0.2)
    raise AssertionError("the submission's container never appeared")


@docker_test
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupting_grade_submit_removes_its_container(tmp_path: Path, sig: signal.Signals) -> None:
    token = uuid.uuid4().hex
    program = tmp_path / "loop.py"
    program.write_text(f"# {token}\nwhile True:\n    pass\n")
    env = {**os.environ, "GRADE_TIMEOUT_S": "60"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "grader", "submit", "ex1", "--file", str(program)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=ctrl_c_as_at_a_terminal,
    )
    try:
        cid = _find_container(token, time.monotonic() + 60)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)  # the contract is the clean-up, not its speed on a loaded machine
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert gone(cid), "the interrupted run left its container behind"


def _outcome(trace: str, *, stderr: bytes = b"", **fields: object) -> RunOutcome:
    return RunOutcome(started=0.0, ended=1.0, trace=trace, stderr=stderr, **fields)  # type: ignore[arg-type]


GOOD = (
    '10 1.0 execve("/usr/bin/python3", ["python3", "/submission/solution.py"], 0x1 /* 7 vars */) = 0\n'
    "10 1.1 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x1) = 11\n"
    "11 1.2 exit_group(0) = ?\n"
    "11 1.3 +++ exited with 0 +++\n"
    "10 1.4 wait4(11, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 11\n"
    "10 1.5 exit_group(0) = ?\n"
    "10 1.6 +++ exited with 0 +++\n"
)


@pytest.mark.parametrize(
    ("trace", "fields", "reason"),
    [
        (GOOD.rsplit("10 1.6", 1)[0], {}, "the trace has no end for the main process 10"),
        (GOOD[:-30], {}, "truncated"),
        (GOOD, {"tracer_stderr": "strace: ptrace(PTRACE_SEIZE, 12): Operation not permitted\n"}, "the tracer failed"),
        (GOOD, {"trace_truncated": True}, "too much activity"),
        (GOOD, {"untraced": [12]}, "untraced: processes 12"),
        (GOOD.replace("flags=CLONE_CHILD_CLEARTID", "flags=CLONE_UNTRACED|CLONE_CHILD_CLEARTID"), {}, "untraced: "),
        (GOOD, {"kill_reason": "untraced"}, "untraced: "),
        (GOOD, {"infra_error": "the Docker engine failed during the run: gone"}, "the Docker engine failed"),
        (
            GOOD + "12 1.7 exit_group(0) = ?\n12 1.8 +++ exited with 0 +++\n",
            {},
            "untraced: processes 12 ran outside the tracer",
        ),
    ],
    ids=[
        "no-exit-line",
        "cut-mid-line",
        "strace-error",
        "trace-limit",
        "survivor",
        "untraced-clone",
        "pipe-held",
        "engine",
        "hidden-creation",
    ],
)
def test_the_judge_fails_closed(trace: str, fields: dict[str, object], reason: str) -> None:
    report = judge(resolve("ex1"), _outcome(trace, **fields), Settings())  # type: ignore[arg-type]
    assert report.status == "error" and report.score == 0, (report.status, report.reason)
    assert report.reason and reason in report.reason, report.reason


def test_a_student_line_shaped_like_a_tracer_error_is_not_one() -> None:
    student = GOOD.replace("10 1.5 exit_group", '10 1.45 write(2, "strace: fake\\n", 13) = 13\n10 1.5 exit_group')
    report = judge(resolve("ex1"), _outcome(student, stderr=b"strace: fake\n"), Settings())
    assert report.status != "error", report.reason


def test_a_kill_of_its_own_group_is_not_an_oom() -> None:
    ending = "10 1.5 exit_group(0) = ?\n10 1.6 +++ exited with 0 +++"
    trace = GOOD.replace(ending, "10 1.5 kill(0, SIGKILL <unfinished ...>\n10 1.6 +++ killed by SIGKILL +++")
    report = judge(resolve("ex1"), _outcome(trace), Settings())
    assert report.reason is None or "memory" not in report.reason, report.reason
    unsent = _outcome(trace.replace("kill(0, SIGKILL <unfinished ...>", "getpid() = 10"))
    oom = judge(resolve("ex1"), unsent, Settings())
    assert oom.status == "error" and oom.reason and oom.reason.startswith("memory limit"), oom.reason


@docker_test
def test_a_launcher_that_cannot_start_the_program_is_the_graders_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """The launcher reports on the tracer's stderr, never the student's; the run is an error, not a 0 for the code."""
    s = Settings(timeout_s=5)
    box = DockerSandbox(s)
    monkeypatch.setattr(box, "config_overrides", {"python": "/nonexistent/python3"})
    out = box.run(RunRequest(source=(ROOT / "solutions" / "ex1_fork.py").read_bytes(), settings=s, dns=False))
    assert "grade: cannot start the program as the student" in out.tracer_stderr, out.tracer_stderr
    assert out.stderr == b"" and out.trace == ""  # nothing of the launcher's is taken for the program's
    report = judge(resolve("ex1"), out, s)
    assert report.status == "error" and report.reason and report.reason.startswith("the tracer failed (grade: ")


@docker_test
def test_the_student_sees_what_it_saw_under_strace_u(sandbox) -> None:  # type: ignore[no-untyped-def]
    """Launched as root and dropped inside the trace, the program still starts as before: its exec is the
    trace's first line with readable arguments, fds 0-2 only, its stderr lines are stderr lines."""
    probe = (
        b"import os, sys\nprint(sorted(os.listdir('/proc/self/fd')), os.getuid(), os.getgroups())\n"
        b"print('E', file=sys.stderr)\n"
    )
    s = Settings(timeout_s=5)
    out = sandbox.run(RunRequest(source=probe, settings=s, dns=False))
    fds, uid, groups = out.stdout.decode().split("\n")[0].rsplit(" ", 2)
    assert (fds, groups) == ("['0', '1', '2', '3']", "[]") and int(uid) in IMAGE_UIDS, out.stdout  # 3: listdir's
    assert out.stderr == b"E\n" and out.tracer_stderr == ""
    report = judge(resolve("ex1"), out, s)
    main = report.tree.main if report.tree else None
    assert main is not None and [(e.path, e.argv[1:], e.ok) for e in main.execs] == [
        (main.execs[0].path, ["/submission/solution.py"], True)
    ], main.execs
    assert main.execs[0].path.endswith("/python3")
    assert [(ln.stream, ln.text) for ln in report.tree.lines if ln.stream == "stderr"] == [("stderr", "E")]  # type: ignore[union-attr]


@pytest.mark.parametrize("machine", ["x86_64", "aarch64"])
def test_the_launchers_filter_is_well_formed_on_each_architecture(machine: str) -> None:
    from grader.image.as_student import ALLOW, SYSCALLS, program

    insns = program(machine)
    assert insns[1][3] == SYSCALLS[machine]["audit_arch"]  # the architecture is checked before any number
    jumps = [(i, jt, jf) for i, (code, jt, jf, _) in enumerate(insns) if code != 0x06]
    assert all(0 <= jt < 256 and 0 <= jf < 256 and i + 1 + max(jt, jf) < len(insns) for i, jt, jf in jumps)
    assert insns[-1][0] == 0x06 and any(k == ALLOW for code, _, _, k in insns if code == 0x06)


@docker_test
def test_the_run_sees_nothing_of_the_hosts_paths(sandbox) -> None:  # type: ignore[no-untyped-def]
    """mountinfo showed the grader's checkout (a bind-mounted resolv.conf) and the hostname the container id."""
    probe = b"import socket\nprint(open('/proc/self/mountinfo').read())\nprint('HOST', socket.gethostname())\n"
    s = Settings(timeout_s=5)
    out = sandbox.run(RunRequest(source=probe, settings=s, dns=False))
    text = out.stdout.decode()
    assert "HOST grade" in text and str(ROOT) not in text and "/grader/image" not in text, text
    assert (sandbox.last_container or "")[:12] not in text.split("HOST")[1]


@docker_test
def test_concurrent_runs_have_distinct_uids(sandbox) -> None:  # type: ignore[no-untyped-def]
    """The kernel's per-uid limits are machine-wide: runs at the same time must not share the student's uid."""
    import threading

    probe = b"import os, pwd, time\nprint(os.getuid(), pwd.getpwuid(os.getuid()).pw_name)\ntime.sleep(1.5)\n"
    s = Settings(timeout_s=8)
    seen: list[str] = []

    def one() -> None:
        seen.append(sandbox.run(RunRequest(source=probe, settings=s, dns=False)).stdout.decode().strip())

    runs = [threading.Thread(target=one) for _ in range(3)]
    for t in runs:
        t.start()
    for t in runs:
        t.join()
    uids = [line.split()[0] for line in seen]
    assert len(set(uids)) == 3 and all(int(u) in IMAGE_UIDS for u in uids), seen
    assert all(line.split()[1] == "student" for line in seen), seen  # every uid of the pool is `student`


def test_the_launchers_lines_are_cut_from_the_trace() -> None:
    from grader.image.entrypoint import without_launcher

    launcher = (
        b'7 1.0 execve("/usr/bin/python3", ["python3", "-I", "-S", "/opt/grade/as_student.py"], 0x1 /* 7 vars */) = 0\n'
        b"7 1.1 prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) = 0\n"
        b"7 1.2 dup2(5, 2) = 2\n"
    )
    student = (
        b'7 1.3 execve("/usr/bin/python3", ["/usr/bin/python3", "/s.py"], 0x1 /* 7 vars */) = 0\n'
        b"7 1.4 +++ exited with 0 +++\n"
    )
    assert without_launcher(launcher + student) == student
    failed = b'7 1.3 execve("/nope", ["/nope", "/s.py"], 0x1 /* 7 vars */) = -1 ENOENT (No such file or directory)\n'
    assert without_launcher(launcher + failed + b"7 1.4 +++ exited with 127 +++\n") == b""  # the program never ran
    assert without_launcher(launcher) == b"" and without_launcher(b"") == b""
