"""Threads in the parsed trace (recorded-shape logs, no container): each thread's birth, end, last call,
names and sleeps; every printed line's tid; socketpair channels; the --tree drawing of threads."""

from __future__ import annotations

import io

from rich.console import Console

from grader.reports.text import process_tree
from grader.trace import parse

THREAD = "clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, exit_signal=0}, 88)"


def _log(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def _two_threads(*body: str) -> str:
    return _log(
        f"10 1.000 {THREAD} = 11",
        f"10 1.001 {THREAD} = 12",
        *body,
        "11 3.000 exit(0) = ?",
        "11 3.001 +++ exited with 0 +++",
        "12 3.002 +++ exited with 0 +++",
        "10 3.100 exit_group(0) = ?",
        "10 3.101 +++ exited with 0 +++",
    )


def test_a_thread_is_recorded_with_its_creator_and_lifetime_and_never_counted_as_a_process() -> None:
    tree = parse(_two_threads('11 1.5 write(1, "a\\n", 2) = 2'))
    assert sorted(tree.procs) == [10] and tree.procs[10].threads == [11, 12]
    first = tree.threads[11]
    assert (first.pid, first.creator, first.start, first.end) == (10, 10, 1.0, 3.001)
    # its last call other than exit: join() returns between the two
    assert first.done == 1.5
    assert tree.threads_of(10) == [tree.threads[11], tree.threads[12]]


def test_every_line_carries_the_thread_that_wrote_it() -> None:
    tree = parse(_two_threads('11 1.5 write(1, "from 11\\n", 8) = 8', '10 1.6 write(1, "from main\\n", 10) = 10'))
    assert [(ln.pid, ln.tid, ln.text) for ln in tree.lines] == [(10, 11, "from 11"), (10, 10, "from main")]


def test_lines_of_two_threads_interleaved_between_text_and_newline_stay_apart() -> None:
    """print() writes the text and its newline in two calls: another thread may write in between. Keyed by
    process (as before threads were traced), this made one line 'thread A >>> 1thread B >>> 1'."""
    tree = parse(
        _two_threads(
            '11 1.5 write(1, "thread A >>> 1", 14) = 14',
            '12 1.6 write(1, "thread B >>> 1", 14) = 14',
            '11 1.7 write(1, "\\n", 1) = 1',
            '12 1.8 write(1, "\\n", 1) = 1',
        )
    )
    assert sorted((ln.tid, ln.text) for ln in tree.lines) == [(11, "thread A >>> 1"), (12, "thread B >>> 1")]


def test_a_thread_without_an_exit_line_ends_with_its_process() -> None:
    tree = parse(_log(f"10 1.0 {THREAD} = 11", "10 2.0 exit_group(0) = ?", "10 2.1 +++ exited with 0 +++"))
    assert tree.threads[11].end == 2.1


def test_a_thread_names_itself_with_prctl_as_a_label_only() -> None:
    tree = parse(
        _two_threads('11 1.2 prctl(PR_SET_NAME, "LoopThread") = 0', '12 1.3 prctl(PR_SET_NAME, "x") = -1 EPERM')
    )
    assert tree.threads[11].name == "LoopThread" and tree.threads[12].name is None
    assert tree.thread_name(11) == "LoopThread"
    long = parse(_two_threads(f'11 1.2 prctl(PR_SET_NAME, "{"x" * 4000}") = 0'))
    assert long.threads[11].name == "x" * 15  # what the kernel kept, not the 4,000 bytes the program passed


SLEEP = "clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=0, tv_nsec=0}, NULL) = 0"


def test_sleeps_taken_in_turn_are_never_shared() -> None:
    tree = parse(_two_threads(f"11 1.5 {SLEEP}", f"12 1.6 {SLEEP}", f"11 1.7 {SLEEP}"))
    assert (tree.threads[11].sleeps, tree.threads[12].sleeps) == (2, 1)
    assert tree.threads[11].sleeps_shared == tree.threads[12].sleeps_shared == 0


def test_sleeps_that_overlap_are_counted_for_both_threads() -> None:
    tree = parse(
        _two_threads(
            "11 1.5 clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=0, tv_nsec=0},  <unfinished ...>",
            "12 1.6 clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=0, tv_nsec=0},  <unfinished ...>",
            "11 1.7 <... clock_nanosleep resumed>NULL) = 0",
            "12 1.8 <... clock_nanosleep resumed>NULL) = 0",
            f"11 1.9 {SLEEP}",
        )
    )
    assert tree.threads[11].sleeps == 2 and tree.threads[12].sleeps == 1
    assert tree.threads[11].sleeps_shared == 1 and tree.threads[12].sleeps_shared == 1


def test_a_socketpair_is_two_channels_followed_into_a_forked_child() -> None:
    """multiprocessing.Pipe(): main writes on one end, the forked child holds the other and closes it."""
    tree = parse(
        _log(
            "10 1.0 socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0, [3, 4]) = 0",
            "10 1.1 clone(child_stack=NULL, flags=CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x1) = 20",
            '10 1.2 write(3, "\\0\\0\\0\\5\\200\\4K\\1.", 9) = 9',
            '20 1.3 write(1, "Got 1\\n", 6) = 6',
            "20 1.4 close(4) = 0",
            "20 1.5 exit_group(0) = ?",
            "20 1.6 +++ exited with 0 +++",
            "10 1.7 wait4(20, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 20",
            "10 1.8 exit_group(0) = ?",
            "10 1.9 +++ exited with 0 +++",
        )
    )
    to_child, back = tree.pipes[1], tree.pipes[2]
    assert to_child.kind == back.kind == "socketpair"
    assert [(w.pid, w.tid) for w in to_child.writes] == [(10, 10)] and to_child.writes[0].head.startswith("\0\0\0\5")
    assert 20 in to_child.held_by and 20 not in to_child.readers  # it closed its end before exiting
    assert not back.writes


def test_a_sleep_shared_only_by_a_later_starter_is_counted_and_a_lone_one_is_not() -> None:
    """Thread 12 sleeps alone first; 11 starts sleeping during 12's second sleep: both of those are shared."""
    tree = parse(
        _two_threads(
            f"12 1.2 {SLEEP}",
            "12 1.5 clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=0, tv_nsec=0},  <unfinished ...>",
            f"11 1.6 {SLEEP}",
            "12 1.8 <... clock_nanosleep resumed>NULL) = 0",
            f"11 1.9 {SLEEP}",
        )
    )
    assert (tree.threads[11].sleeps, tree.threads[11].sleeps_shared) == (2, 1)
    assert (tree.threads[12].sleeps, tree.threads[12].sleeps_shared) == (2, 1)


def _draw(log: str) -> str:
    console = Console(file=io.StringIO(), width=300, color_system=None)
    console.print(process_tree(parse(log)))
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_the_tree_draws_threads_under_their_process_with_their_lines() -> None:
    drawn = _draw(
        _two_threads('11 1.2 prctl(PR_SET_NAME, "LoopThread") = 0', '11 1.5 write(1, "a\\n", 2) = 2', f"12 1.6 {SLEEP}")
    )
    lines = drawn.splitlines()
    assert "2 more threads" in lines[0]
    assert any("thread 11 'LoopThread'" in ln and "(1 line printed)" in ln for ln in lines[1:])
    assert any("thread 12" in ln and "made by 10" in ln for ln in lines[1:])


def test_a_thread_bomb_is_drawn_up_to_its_cap() -> None:
    births = [f"10 1.{i:04d} {THREAD} = {100 + i}" for i in range(500)]
    drawn = _draw(_log(*births, "10 3.0 exit_group(0) = ?", "10 3.1 +++ exited with 0 +++"))
    assert "484 more threads not drawn" in drawn and len(drawn.splitlines()) < 25
