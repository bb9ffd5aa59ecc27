"""The entrypoint's steps without a container: the drain-and-watch loop's decisions as pure functions of its state.

The container tests (test_sandbox_docker, the attack suite) prove the steps work together; these pin each
decision — deadline, trace limit, output limit, leftover grace, untraced, the kill's escalation — on its own.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import subprocess
from pathlib import Path

from grader.image import entrypoint
from grader.image.entrypoint import Watch
from grader.image.policy import Policy

POLICY = Policy(
    script="/submission/solution.py",
    rundir="/run/grade",
    workdir="/tmp",
    source_z=None,
    user="student",
    uid=None,
    python=None,
    timeout=10.0,
    grace=0.5,
    output_bytes=1 << 20,
    output_kill_bytes=8 << 20,
    trace_bytes=32 << 20,
    rlimits={},
    dns=False,
    start_method=None,
    student_filter=True,
)
T0 = 1000.0  # a monotonic clock reading: the loop's start


def _watch(**changes: object) -> Watch:
    return Watch(dataclasses.replace(POLICY, **changes), T0)


def test_the_deadline_runs_from_the_start_until_main_appears_then_from_main() -> None:
    w = _watch(timeout=10.0)
    assert w.limit(T0 + 10.0, 0, 0) is None
    assert w.limit(T0 + 10.01, 0, 0) == "timeout"
    w.main_started(4242, T0 + 3.0)  # its first exec: the clock restarts
    assert w.main_pid == 4242
    assert w.limit(T0 + 12.0, 0, 0) is None
    assert w.limit(T0 + 13.01, 0, 0) == "timeout"


def test_trace_and_output_limits_are_passed_only_beyond_them() -> None:
    w = _watch(trace_bytes=1000, output_kill_bytes=500)
    assert w.limit(T0, 1000, 500) is None
    assert w.limit(T0, 1001, 0) == "trace-limit"
    assert w.limit(T0, 0, 501) == "output-limit"


def test_leftover_waits_for_the_grace_after_main_ended() -> None:
    w = _watch(grace=0.5)
    w.main_started(7, T0)
    assert w.limit(T0 + 1, 0, 0) is None  # main still running: no grace is counting
    w.main_ended(T0 + 2)
    assert w.limit(T0 + 2.5, 0, 0) is None
    assert w.limit(T0 + 2.51, 0, 0) == "leftover"


def test_the_first_limit_in_order_wins() -> None:
    w = _watch(timeout=1.0, trace_bytes=10, output_kill_bytes=10, grace=0.0)
    w.main_ended(T0)
    assert w.limit(T0 + 2, 11, 11) == "timeout"
    assert w.limit(T0 + 0.5, 11, 11) == "trace-limit"
    assert w.limit(T0 + 0.5, 0, 11) == "output-limit"
    assert w.limit(T0 + 0.5, 0, 0) == "leftover"


def test_a_stopped_run_passes_no_further_limit() -> None:
    """Once stopped, the first reason stands: a timeout during the kill does not rename it."""
    w = _watch(output_kill_bytes=10)
    w.stopped("output-limit", T0 + 1, 1_700_000_000.0)
    assert (w.kill_reason, w.killed_at, w.kill_time) == ("output-limit", T0 + 1, 1_700_000_000.0)
    assert w.limit(T0 + 100, 1 << 40, 1 << 40) is None


def test_untraced_is_decided_half_a_second_after_strace_ended_with_a_pipe_open() -> None:
    w = _watch()
    w.tracer_polled(None, T0 + 1)
    assert not w.untraced(T0 + 5)  # strace still running
    w.tracer_polled(0, T0 + 2)
    assert not w.finished(streams_open=True)
    assert w.finished(streams_open=False)
    assert not w.untraced(T0 + 2.5)
    assert w.untraced(T0 + 2.51)
    w.stopped("untraced", T0 + 2.51, 0.0)
    assert not w.untraced(T0 + 10)  # decided once


def test_a_kill_is_repeated_then_strace_killed_then_the_watch_ends() -> None:
    w = _watch()
    assert not w.killing() and not w.give_up(T0 + 100)
    w.stopped("timeout", T0 + 10, 0.0)
    assert w.killing()
    assert not w.kill_tracer(T0 + 13) and w.kill_tracer(T0 + 13.01)
    assert not w.give_up(T0 + 15) and w.give_up(T0 + 15.01)
    w.tracer_polled(-9, T0 + 14)
    assert not w.killing() and not w.kill_tracer(T0 + 14.5)  # strace has ended: nothing more to kill


def test_a_stop_after_strace_ended_kills_nothing_more() -> None:
    """The untraced kill is sent once by the loop; the repeated kill is for a run strace still holds."""
    w = _watch()
    w.tracer_polled(0, T0)
    w.stopped("untraced", T0 + 1, 0.0)
    assert not w.killing() and w.give_up(T0 + 6.01)


def test_main_is_observed_from_the_trace_then_from_proc(tmp_path: Path) -> None:
    trace = tmp_path / "trace"
    w = _watch()
    entrypoint.observe_main(w, str(trace), T0 + 1)  # no trace yet
    assert w.main_pid is None and w.deadline == T0 + 10
    child = subprocess.Popen(["sleep", "30"])
    try:
        trace.write_bytes(f'{child.pid} 1.0 execve("/usr/bin/python3", ...) = 0\n'.encode())
        entrypoint.observe_main(w, str(trace), T0 + 2)
        assert w.main_pid == child.pid and w.deadline == T0 + 12
        entrypoint.observe_main(w, str(trace), T0 + 3)
        assert w.main_gone is None  # still running
    finally:
        child.kill()
        child.wait()
    entrypoint.observe_main(w, str(trace), T0 + 4)
    assert w.main_gone == T0 + 4


def test_trace_size_is_zero_before_strace_writes(tmp_path: Path) -> None:
    assert entrypoint.trace_size(str(tmp_path / "trace")) == 0
    (tmp_path / "trace").write_bytes(b"x" * 10)
    assert entrypoint.trace_size(str(tmp_path / "trace")) == 10


def test_the_trace_is_cut_at_its_limit_and_from_the_programs_exec(tmp_path: Path) -> None:
    launcher = b'5 1.0 execve("/usr/bin/python3", ["python3", "as_student.py"]) = 0\n5 1.1 setuid(61100) = 0\n'
    program = b'5 1.2 execve("/usr/bin/python3", ["python3", "solution.py"]) = 0\n5 1.3 write(1, "hi\\n", 3) = 3\n'
    path = tmp_path / "trace"
    path.write_bytes(launcher + program)
    assert entrypoint.read_trace(str(path), len(launcher + program)) == (program, False)
    trace, truncated = entrypoint.read_trace(str(path), len(launcher + program) - 4)
    assert truncated and trace == program[:-4]


def test_the_student_is_the_pools_uid_as_root_and_this_user_otherwise() -> None:
    pooled = entrypoint.student_of(dataclasses.replace(POLICY, user="root", uid=61117))
    own = entrypoint.student_of(dataclasses.replace(POLICY, user="root", uid=None))
    if os.getuid() == 0:
        assert (pooled.uid, pooled.gid, pooled.root) == (61117, 61117, True)
        assert (own.uid, own.gid) == (0, 0)
    else:
        assert (pooled.uid, pooled.root) == (os.getuid(), False)


def test_main_is_a_short_list_of_steps() -> None:
    """The entrypoint's main stays a list of steps: its logic lives in the functions it calls."""
    lines = inspect.getsource(entrypoint.main).splitlines()
    assert len(lines) <= 25, len(lines)
    assert not any(line.lstrip().startswith(("if ", "while ", "for ", "try:")) for line in lines), lines
