"""Hostile submissions aimed at the exercises' own checks: each forgery is refused full marks, by the check
that says what it saw, in both sandboxes; and judging stays near-linear in what a program prints."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from grader.catalog import resolve
from grader.checks import Run, pickled_message
from grader.grading import grade
from grader.sandbox.base import RunOutcome
from grader.sandbox.none import NoneSandbox
from grader.settings import Settings
from grader.trace import parse
from grader.tree import Line, Proc, Tree

from ..conftest import GradeFile, failing

# a folder of their own: test_attacks.py expects programs/*.py to be exactly its own ATTACKS
PROGRAMS = Path(__file__).parent / "programs" / "exercises"


def _nslookup_symlink_verdict(report) -> None:  # type: ignore[no-untyped-def]
    why = (report.status, report.reason, failing(report), [c.message for c in report.checks if not c.passed])
    assert report.status == "failed" and not report.full_marks, why
    assert {"two_nslookups", "first_lookup"} <= set(failing(report)), why
    message = next(c.message for c in report.checks if c.id == "two_nslookups")
    assert "not the system's nslookup (/usr/bin/nslookup)" in message and "/nslookup'" in message, message
    assert report.tree is not None  # the impostor is in the tree, as the program it really was
    assert any(
        e.ok and e.path.endswith("/nslookup") and e.path.startswith("/tmp/")
        for p in report.tree.procs.values()
        for e in p.execs
    )


@pytest.mark.docker
@pytest.mark.attack
def test_nslookup_symlink_is_not_nslookup_in_docker(grade_file: GradeFile) -> None:
    _nslookup_symlink_verdict(grade_file("ex4", PROGRAMS / "nslookup_symlink.py"))


@pytest.mark.docker
@pytest.mark.attack
def test_nslookup_symlink_is_not_nslookup_without_a_container(settings: Settings) -> None:
    """--sandbox none: the host's PATH finds Debian's /usr/bin/nslookup; a symlink in /tmp is still not it."""
    path = PROGRAMS / "nslookup_symlink.py"
    report = grade(resolve("ex4"), path.read_bytes(), sandbox=NoneSandbox(settings), settings=settings, name=path.name)
    _nslookup_symlink_verdict(report)


def _flood_run(n: int) -> Run:
    """A synthetic ex3 run: one worker printing `Run task 0` and `Task 0 runs` n times each."""
    main, worker = Proc(pid=10, start=0.0, end=9.0, exit_code=0), Proc(pid=11, parent=10, start=0.1, end=8.0)
    lines = [Line(pid=11, t=1.0 + i * 1e-5, stream="stdout", text="Run task 0 (11)...") for i in range(n)]
    lines += [Line(pid=11, t=2.0 + i * 1e-5, stream="stdout", text="Task 0 runs 0.01 seconds.") for i in range(n)]
    tree = Tree(root=10, procs={10: main, 11: worker}, lines=sorted(lines, key=lambda ln: ln.t))
    return Run(tree, RunOutcome())


def test_ex3_judging_is_near_linear_in_printed_lines() -> None:
    """20,000 + 20,000 matching lines took 120 s of grader CPU with the nested scan; a generous bound here."""
    run = _flood_run(20_000)
    ex3 = resolve("ex3_pool")
    ex3_pool = ex3.module
    assert ex3_pool is not None
    t0 = time.process_time()
    for check in ex3.checks:
        check.judge(run)
    assert time.process_time() - t0 < 20, "ex3's checks are not near-linear in the lines a program prints"
    spans = ex3_pool.intervals(run)
    assert len(spans) == 20_000 and all(end == 2.0 for _, end, _, _ in spans)  # each ends at the first end after it


# -- what the exercises need from the trace, on small hand-written strace logs (pure, no container) ---------

MAIN_PIPE = "10 1.000 pipe2([3, 4], O_CLOEXEC) = 0\n"


def test_a_sleep_interrupted_by_the_killing_signal_is_where_the_process_died() -> None:
    tree = parse(
        '10 1.000 write(1, "Get A from queue.\\n", 18) = 18\n'
        "10 1.001 clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, {tv_sec=1, tv_nsec=0},  <unfinished ...>\n"
        "10 1.200 <... clock_nanosleep resumed>NULL) = ? ERESTARTNOHAND (To be restarted if no handler)\n"
        "10 1.201 --- SIGTERM {si_signo=SIGTERM, si_code=SI_USER, si_pid=9, si_uid=61000} ---\n"
        "10 1.202 +++ killed by SIGTERM +++\n"
    )
    assert tree.main is not None and tree.main.blocked_in == "clock_nanosleep" and tree.main.signal == "SIGTERM"


def test_pipe_writes_keep_their_time_writer_and_first_bytes() -> None:
    tree = parse(
        MAIN_PIPE + '10 1.100 write(4, "\\0\\0\\0\\20\\200\\4\\225\\5\\0\\0\\0\\0\\0\\0\\0\\214\\1A\\224.", 20) = 20\n'
        "10 1.200 exit_group(0) = ?\n10 1.201 +++ exited with 0 +++\n"
    )
    pipe = tree.pipes[1]
    assert pipe.t == 1.0 and [(w.t, w.pid) for w in pipe.writes] == [(1.1, 10)]
    assert pickled_message(pipe.writes[0].head) is not None and "A" in pipe.writes[0].head
    assert pipe.readers == [10]


def test_a_pipe_passed_to_an_exec_keeps_its_identity() -> None:
    """spawn: the child clears close-on-exec on the fds it passes (fcntl F_SETFD), then execs."""
    tree = parse(
        MAIN_PIPE + "10 1.010 clone(child_stack=NULL, flags=CLONE_VM|CLONE_VFORK|SIGCHLD) = 11\n"
        "11 1.011 fcntl(3, F_SETFD, 0) = 0\n"
        '11 1.012 execve("/usr/bin/python3", ["python3", "-c", "x"], 0x0 /* 0 vars */) = 0\n'
        "10 1.300 exit_group(0) = ?\n10 1.301 +++ exited with 0 +++\n"
        "11 1.300 exit_group(0) = ?\n11 1.301 +++ exited with 0 +++\n"
    )
    assert sorted(tree.pipes[1].readers) == [10, 11]  # the read end survived the exec; the write end did not


def test_a_pipe_sent_to_the_forkserver_reaches_its_child() -> None:
    """forkserver: main sends the fds over a socket (SCM_RIGHTS); the server receives them and forks."""
    rights = "msg_control=[{cmsg_len=24, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[%s]}]"
    tree = parse(
        "10 1.000 clone(child_stack=NULL, flags=SIGCHLD) = 20\n"
        + MAIN_PIPE.replace("1.000", "1.001")
        + f'10 1.002 sendmsg(5, {{msg_iov=[{{iov_base="\\2", iov_len=1}}], {rights % "3, 4"}}}, 0) = 1\n'
        + f'20 1.003 recvmsg(6, {{msg_iov=[{{iov_base="\\2", iov_len=1}}], {rights % "7, 8"}}}, 0) = 1\n'
        "20 1.004 clone(child_stack=NULL, flags=SIGCHLD) = 21\n"
        '21 1.005 write(8, "\\0\\0\\0\\20\\200\\4\\225\\5\\0\\0\\0\\0\\0\\0\\0\\214\\1B\\224.", 20) = 20\n'
        "21 1.100 exit_group(0) = ?\n21 1.101 +++ exited with 0 +++\n"
        "20 1.200 exit_group(0) = ?\n20 1.201 +++ exited with 0 +++\n"
        "10 1.300 exit_group(0) = ?\n10 1.301 +++ exited with 0 +++\n"
    )
    pipe = tree.pipes[1]
    assert [w.pid for w in pipe.writes] == [21] and 21 in pipe.readers and 20 in pipe.readers
