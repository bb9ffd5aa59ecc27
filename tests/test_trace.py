"""The strace log parser on recorded logs: processes vs threads, resumed calls, signals, pipes, truncation."""

from __future__ import annotations

from pathlib import Path

from grader.trace import _strings, parse

TRACES = Path(__file__).parent / "traces"


def recorded() -> str:
    return (TRACES / "pool_queue_subprocess.trace").read_text()


def test_threads_are_not_processes() -> None:
    tree = parse(recorded())
    assert tree.root == 10
    assert sorted(tree.procs) == [10, 11, 12, 16, 18]
    assert tree.procs[10].threads == [13, 14, 15, 17]
    assert all(13 not in p.threads or p.pid == 10 for p in tree.procs.values())


def test_parents_creation_and_reaping() -> None:
    tree = parse(recorded())
    assert {p.pid: p.parent for p in tree.procs.values()} == {10: None, 11: 10, 12: 10, 16: 10, 18: 10}
    assert tree.procs[11].how == "clone" and tree.procs[18].how == "vfork"
    assert all(tree.procs[c].reaped_by == 10 for c in (11, 12, 16, 18))
    assert tree.procs[10].exit_code == 0 and tree.procs[10].ended


def test_signal_and_sender() -> None:
    reader = parse(recorded()).procs[16]
    assert reader.signal == "SIGTERM" and reader.signal_sender == 10 and reader.exit_code is None
    assert reader.describe_end() == "killed by SIGTERM sent by 10"


def test_lines_are_rebuilt_per_process_across_split_writes() -> None:
    tree = parse(recorded())
    texts = [(ln.pid, ln.text) for ln in tree.lines]
    assert (11, "Run task 0 (11)...") in texts and (12, "Run task 1 (12)...") in texts
    assert (16, "A") in texts
    # cat's output went into a pipe to main, not to the real stdout: it is not a printed line
    assert not any(pid == 18 for pid, _ in texts)
    assert [ln.t for ln in tree.lines] == sorted(ln.t for ln in tree.lines)


def test_exec_argv_and_stdin_pipe_from_main() -> None:
    cat = parse(recorded()).procs[18]
    assert cat.program == "/usr/bin/cat"
    assert [e.ok for e in cat.execs] == [False, False, False, True]  # PATH search: ENOENT, then found
    assert cat.execs[-1].argv == ["cat"]
    assert cat.stdin is not None and cat.stdin.startswith("pipe:") and cat.stdin_creator == 10


def test_pipe_data_written_by_main() -> None:
    tree = parse(recorded())
    assert cat_stdin_pipe_data(tree) == "hi\n"


def cat_stdin_pipe_data(tree) -> str:  # type: ignore[no-untyped-def]
    pipe = tree.pipes[int(tree.procs[18].stdin.split(":")[1])]
    assert 10 in pipe.written_by
    return pipe.data


def test_truncated_log_fails_closed() -> None:
    text = recorded()
    cut = text[: len(text) // 2]
    cut = cut[: cut.rindex("\n") + 20]  # ends mid-line
    tree = parse(cut)
    assert tree.truncated
    assert any("no end for the main process" in p for p in tree.problems)
    assert not tree.procs[10].ended


def test_child_seen_before_its_clone_returns() -> None:
    log = "\n".join(
        [
            '5 1.000000 execve("/usr/bin/python3", ["python3", "x.py"], 0x1 /* 3 vars */) = 0',
            "5 1.100000 pipe2([3, 4], O_CLOEXEC) = 0",
            "5 1.200000 vfork( <unfinished ...>",
            "6 1.210000 dup2(3, 0)     = 0",
            '6 1.220000 execve("/usr/bin/nslookup", ["nslookup"], 0x2 /* 3 vars */ <unfinished ...>',
            "5 1.230000 <... vfork resumed>) = 6",
            "6 1.240000 <... execve resumed>) = 0",
            '5 1.250000 write(4, "set q=mx\\npython.org\\nexit\\n", 26) = 26',
            '6 1.300000 write(1, "python.org\\tmail exchanger = 50\\n", 31) = 31',
            "6 1.400000 exit_group(0)   = ?",
            "6 1.410000 +++ exited with 0 +++",
            "5 1.420000 wait4(6, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 6",
            "5 1.500000 exit_group(0)   = ?",
            "5 1.510000 +++ exited with 0 +++",
            "",
        ]
    )
    tree = parse(log)
    child = tree.procs[6]
    assert child.parent == 5 and child.how == "vfork" and child.program == "/usr/bin/nslookup"
    assert child.stdin == "pipe:1:r" and child.stdin_creator == 5
    assert tree.pipes[1].data == "set q=mx\npython.org\nexit\n" and tree.pipes[1].written_by == [5]
    assert [ln.text for ln in tree.lines_of(6)] == ["python.org\tmail exchanger = 50"]
    assert child.reaped_by == 5 and not tree.problems


def test_sigkill_sender_from_kill_call_and_blocked_in() -> None:
    log = "\n".join(
        [
            "7 2.0 clone(child_stack=NULL, flags=CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x1) = 8",
            "8 2.1 read(0,  <unfinished ...>",
            "7 2.2 kill(8, SIGKILL) = 0",
            "8 2.3 +++ killed by SIGKILL +++",
            "7 2.4 wait4(-1,  <unfinished ...>",
            "",
        ]
    )
    tree = parse(log)
    assert tree.procs[8].signal == "SIGKILL" and tree.procs[8].signal_sender == 7
    assert tree.procs[7].blocked_in == "wait4" and not tree.procs[7].ended
    assert any("no end for the main process 7" in p for p in tree.problems)


def test_failed_forks_are_counted() -> None:
    log = "\n".join(
        [
            "3 1.0 clone(child_stack=NULL, flags=SIGCHLD) = -1 EAGAIN (Resource temporarily unavailable)",
            "3 1.1 clone(child_stack=NULL, flags=SIGCHLD) = -1 EAGAIN (Resource temporarily unavailable)",
            "3 1.2 exit_group(1)   = ?",
            "3 1.3 +++ exited with 1 +++",
            "",
        ]
    )
    tree = parse(log)
    assert tree.failed_forks == 2 and list(tree.procs) == [3] and tree.procs[3].exit_code == 1


def test_string_escapes() -> None:
    assert _strings(r'write(1, "a\tb\\n\"q\" \344\275\240\x41", 9)') == ['a\tb\\n"q" 你A']


def test_output_shaped_like_trace_lines_is_just_text() -> None:
    fake = "99 1.0 +++ exited with 0 +++"
    log = "\n".join(
        [
            f'4 1.0 write(1, "{fake}\\n", {len(fake) + 1}) = {len(fake) + 1}',
            "4 1.1 exit_group(0)   = ?",
            "4 1.2 +++ exited with 0 +++",
            "",
        ]
    )
    tree = parse(log)
    assert list(tree.procs) == [4] and tree.lines[0].text == fake


def test_untraced_clone_self_kill_and_only_eagain_counts_as_a_failed_fork() -> None:
    log = "\n".join(
        [
            "3 1.0 clone(child_stack=NULL, flags=CLONE_UNTRACED|SIGCHLD) = 9",
            "3 1.1 clone(child_stack=NULL, flags=CLONE_NEWPID|SIGCHLD) = -1 EPERM (Operation not permitted)",
            "3 1.2 clone(child_stack=NULL, flags=SIGCHLD) = -1 EAGAIN (Resource temporarily unavailable)",
            "3 1.3 kill(0, SIGKILL <unfinished ...>",
            "3 1.4 +++ killed by SIGKILL +++",
            "",
        ]
    )
    tree = parse(log)
    assert tree.untraced == [9]  # strace never shows the child itself: only the parent's clone() does
    assert tree.failed_forks == 1  # EPERM from the seccomp profile is not "too many processes"
    assert [(k.target, k.signal, k.finished) for k in tree.kills] == [(0, "SIGKILL", False)]
