"""The parser and the shared checks on synthetic traces: deep chains, floods and forged trace shapes (issue 14,
items 2, 4, 5, 7, 9, 10, 12, 15). Every log here is what strace writes; no container runs."""

from __future__ import annotations

import time

from grader.catalog import resolve
from grader.checks import Run, dropped_output, mp_helper, untraced_output
from grader.grading import judge
from grader.sandbox.base import RunOutcome
from grader.settings import Settings
from grader.trace import LINE_CHARS, LINES_PER_PROCESS, LINES_TOTAL, parse
from grader.tree import Exec, Proc

from .traces import synthetic

PY = "/usr/local/bin/python3"
CLONE = "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f) = {}"


def log(*lines: str) -> str:
    return "\n".join([f'1 1.0 execve("{PY}", ["python3", "s.py"], 0x1 /* 3 vars */) = 0', *lines, ""])


def test_a_5000_generation_chain_is_walked_without_recursion() -> None:
    text = synthetic.chain(5000)
    tree = parse(text)
    assert tree.main is not None and len(tree.descendants(tree.main.pid)) == 5000
    report = judge(resolve("ex1"), RunOutcome(trace=text, stdout_bytes=sum(tree.written.values())), Settings())
    assert report.status == "failed" and report.tree is not None
    assert "created 1 (101)" in next(c.message for c in report.checks if c.id == "one_child")


def test_descendants_keeps_creation_order_and_survives_a_cycle() -> None:
    tree = parse(
        log(
            f"1 1.1 {CLONE.format(2)}",
            f"1 1.2 {CLONE.format(3)}",
            f"2 1.3 {CLONE.format(4)}",
            "1 2.0 +++ exited with 0 +++",
        )
    )
    assert [p.pid for p in tree.descendants(1)] == [2, 4, 3]
    tree.procs[2].parent = 4  # a cycle, whatever made it: the walk still ends
    tree.reindex()
    assert {p.pid for p in tree.descendants(4)} == {2}


def test_ex3_judging_is_near_linear_on_a_200k_line_flood() -> None:
    """Before the index and the caps, 20,000 + 20,000 task lines took minutes; a generous bound here,
    the figures go to bench/bench_judge.py."""
    text = synthetic.task_flood(limit=13 << 20)
    assert text.count("\n") > 200_000
    t0 = time.process_time()
    report = judge(resolve("ex3"), RunOutcome(trace=text), Settings())
    assert time.process_time() - t0 < 30
    assert report.tree is not None and len(report.tree.lines) <= LINES_TOTAL
    assert sum(report.tree.lines_dropped.values()) > 100_000


def test_many_short_lived_children_are_judged_fast() -> None:
    text = synthetic.many_children(limit=4 << 20)
    t0 = time.process_time()
    report = judge(resolve("ex5"), RunOutcome(trace=text), Settings())
    assert time.process_time() - t0 < 30
    assert report.tree is not None and len(report.tree.procs) > 10_000


def test_kept_lines_are_capped_and_counted() -> None:
    many = [f'1 1.{i:06d} write(1, "line {i}\\n", {len(str(i)) + 6}) = {len(str(i)) + 6}' for i in range(3000)]
    tree = parse(log(*many, '1 2.0 write(1, "' + "z" * 3000 + '\\n", 3001) = 3001', "1 3.0 +++ exited with 0 +++"))
    assert len(tree.lines) == LINES_PER_PROCESS and tree.lines_dropped == {1: 3001 - LINES_PER_PROCESS}
    assert [ln.text for ln in tree.lines[:2]] == ["line 0", "line 1"]
    assert tree.written["stdout"] == sum(len(str(i)) + 6 for i in range(3000)) + 3001
    reason = dropped_output(tree)
    assert reason is not None and reason.startswith("output limit: 1001 printed lines")


def test_a_long_line_is_cut_and_never_matches() -> None:
    text = "Parent process 1." + " " * (LINE_CHARS + 10)
    tree = parse(log(f'1 1.1 write(1, "{text}\\n", {len(text) + 1}) = {len(text) + 1}', "1 2.0 +++ exited with 0 +++"))
    (line,) = tree.lines
    assert len(line.text) == LINE_CHARS and line.cut == len(text) - LINE_CHARS
    PARENT = resolve("ex3_pool").module.PARENT  # type: ignore[union-attr]

    assert PARENT.match(line.text) is not None  # the kept part alone would match ...
    assert Run(tree, RunOutcome()).find(PARENT) == []  # ... a cut line does not


def test_clone_parent_from_main_is_attributed_to_main() -> None:
    flags = "clone(child_stack=NULL, flags=CLONE_PARENT|SIGCHLD) = 7"
    tree = parse(
        log(f"1 1.1 {flags}", "7 1.2 exit_group(0) = ?", "7 1.3 +++ exited with 0 +++", "1 2.0 +++ exited with 0 +++")
    )
    child = tree.procs[7]
    assert (child.parent, child.creator) == (1, 1) and tree.children(1) == [child]
    assert not tree.untraced


def test_clone_parent_below_main_keeps_the_kernels_parent() -> None:
    tree = parse(
        log(
            f"1 1.1 {CLONE.format(2)}",
            "2 1.2 clone(child_stack=NULL, flags=CLONE_PARENT|SIGCHLD) = 3",
            "1 2.0 +++ exited with 0 +++",
        )
    )
    assert (tree.procs[3].parent, tree.procs[3].creator) == (1, 2)


def test_a_process_no_traced_call_created_is_untraced() -> None:
    tree = parse(log('9 1.1 write(1, "hi\\n", 3) = 3', "9 1.2 +++ exited with 0 +++", "1 2.0 +++ exited with 0 +++"))
    assert tree.untraced == [9]
    assert any("process 9 appears in the trace, but no traced call created it" in p for p in tree.problems)


def test_a_child_of_a_creator_killed_in_clone_is_not_untraced() -> None:
    tree = parse(
        log(
            "1 1.1 clone(child_stack=NULL, flags=CLONE_CHILD_SETTID|SIGCHLD <unfinished ...>",
            "5 1.2 exit_group(0) = ?",
            "5 1.3 +++ exited with 0 +++",
            "1 1.4 +++ killed by SIGKILL +++",
        )
    )
    assert tree.untraced == [] and tree.procs[5].parent == 1


def test_a_child_of_a_creator_that_died_in_clone_on_one_line_is_not_untraced() -> None:
    """Seen in fork_churn under the grader's kill(-1): the child's lines come first, then its creator's clone
    line ends `= ?` (killed inside the call, after the kernel made the child)."""
    tree = parse(
        log(
            "5 1.2 +++ killed by SIGKILL +++",
            "1 1.1 clone(child_stack=NULL, flags=CLONE_CHILD_SETTID|SIGCHLD) = ?",
            "1 1.4 +++ killed by SIGKILL +++",
        )
    )
    assert tree.untraced == [] and tree.procs[5].parent == 1


def test_execve_from_a_thread_is_recorded() -> None:
    clone3 = "clone3({flags=CLONE_VM|CLONE_THREAD|CLONE_SIGHAND, exit_signal=0} => {parent_tid=[3]}, 88) = 3"
    tree = parse(
        log(
            f"1 1.1 {CLONE.format(2)}",
            f"2 1.2 {clone3}",
            '3 1.3 execve("/bin/sh", ["sh", "-c", "echo hi"], 0x7ff /* 8 vars */ <pid changed to 2 ...>',
            "2 1.4 +++ superseded by execve in pid 3 +++",
            "2 1.5 <... execve resumed>) = -1 (errno 18446744073709551613)",
            '2 1.6 write(1, "hi\\n", 3) = 3',
            "2 1.7 +++ exited with 0 +++",
            "1 1.8 wait4(2, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 2",
            "1 2.0 +++ exited with 0 +++",
        )
    )
    child = tree.procs[2]
    assert child.program == "/bin/sh" and child.execs[-1].argv == ["sh", "-c", "echo hi"]
    assert child.exit_code == 0 and child.end == 1.7 and not tree.untraced


def test_a_superseded_process_without_the_exec_line_is_not_a_fork() -> None:
    tree = parse(
        log(f"1 1.1 {CLONE.format(2)}", "2 1.4 +++ superseded by execve in pid 3 +++", "1 2.0 +++ exited with 0 +++")
    )
    assert tree.procs[2].program is not None and "unknown program" in tree.procs[2].program


def _killed(*calls: str, info: str) -> Proc:
    tree = parse(
        log(
            f"1 1.1 {CLONE.format(2)}",
            f"1 1.2 {CLONE.format(3)}",
            *calls,
            f"2 1.5 --- SIGTERM {{{info}}} ---",
            "2 1.6 +++ killed by SIGTERM +++",
            "1 2.0 +++ exited with 0 +++",
        )
    )
    return tree.procs[2]


def test_a_forged_si_pid_names_no_sender() -> None:
    info = "si_signo=SIGTERM, si_code=SI_QUEUE, si_pid=1, si_uid=61000"
    assert _killed(info=info).signal_sender is None
    # the trace shows the call that really sent it: its caller is the sender, whatever si_pid says
    call = "2 1.3 rt_sigqueueinfo(2, SIGTERM, {si_signo=SIGTERM, si_code=SI_QUEUE, si_pid=1, si_uid=61000}) = 0"
    assert _killed(call, info=info).signal_sender == 2


def test_the_sender_is_the_process_whose_kill_call_sent_it() -> None:
    info = "si_signo=SIGTERM, si_code=SI_USER, si_pid=1, si_uid=61000"
    assert _killed("1 1.3 kill(2, SIGTERM) = 0", info=info).signal_sender == 1
    # siginfo picks among real senders: 3 and 1 both sent SIGTERM to 2, the siginfo says 1
    assert _killed("1 1.3 kill(2, SIGTERM) = 0", "3 1.4 kill(2, SIGTERM) = 0", info=info).signal_sender == 1
    # a kill that failed, or came after the end, sent nothing
    assert _killed("1 1.3 kill(2, SIGTERM) = -1 EPERM (Operation not permitted)", info=info).signal_sender is None


def test_written_bytes_are_counted_per_stream_and_compared() -> None:
    tree = parse(
        log(
            '1 1.1 write(1, "abc\\n", 4) = 4',
            '1 1.2 writev(2, [{iov_base="de", iov_len=2}, {iov_base="f\\n", iov_len=2}], 2) = 4',
            '1 1.3 write(1, "iov_len=999999", 5 <unfinished ...>',
            "1 1.4 +++ killed by SIGKILL +++",
        )
    )
    assert tree.written == {"stdout": 4, "stderr": 4}
    assert tree.written_max == {"stdout": 9, "stderr": 4}  # the write it died in may have gone out
    assert [ln.text for ln in tree.lines] == ["abc", "def"]
    assert untraced_output(tree, RunOutcome(stdout_bytes=9, stderr_bytes=4)) is None
    reason = untraced_output(tree, RunOutcome(stdout_bytes=4, stderr_bytes=40))
    assert reason is not None and reason.startswith("untraced output: stderr holds 40 bytes")


def test_bytes_strace_did_not_print_spoil_their_line() -> None:
    tree = parse(log('1 1.1 write(1, "Parent process 1.\\nRun"..., 5000) = 5000', "1 2.0 +++ exited with 0 +++"))
    assert [(ln.text, ln.cut > 0) for ln in tree.lines] == [("Parent process 1.", False), ("Run", True)]


def _helper(argv: list[str], *, path: str = PY, parent_program: str | None = None) -> str | None:
    tree = parse(log(f"1 1.1 {CLONE.format(2)}", "1 2.0 +++ exited with 0 +++"))
    tree.procs[2].execs.append(Exec(t=1.2, path=path, argv=argv, ok=True))
    if parent_program:
        tree.procs[1].execs.append(Exec(t=1.05, path=parent_program, argv=[], ok=True))
    return mp_helper(tree.procs[2], tree)


def test_multiprocessing_helpers_are_known_by_their_exact_start() -> None:
    tracker = "from multiprocessing.resource_tracker import main;main(5)"
    server = "from multiprocessing.forkserver import main; main(5, 7, ['__main__'], **{'sys_path': ['/tmp']})"
    assert _helper([PY, "-B", "-c", tracker]) == "resource tracker"
    assert _helper([PY, "-B", "-s", "-X", "dev", "-Wignore", "-c", server]) == "forkserver"


def test_look_alike_helpers_are_the_students() -> None:
    tracker = "from multiprocessing.resource_tracker import main;main(5)"
    assert _helper([PY, "-c", "import time", "multiprocessing.resource_tracker"]) is None
    assert _helper([PY, "-c", tracker + "; import os"]) is None
    assert _helper([PY, "-c", "from multiprocessing.resource_tracker import main;main(__import__('os'))"]) is None
    assert _helper([PY, "-c", "print(1)", "-c", tracker]) is None  # the first -c is what runs
    assert _helper(["/bin/sleep", "-c", tracker], path="/bin/sleep") is None
    assert _helper([PY, "-c", tracker], path="/tmp/python3") is None  # not main's interpreter
    assert _helper([PY, "-c", tracker], parent_program="/bin/sh") is None  # made by a shell, not by Python


def test_a_deep_chain_seen_youngest_first_is_placed_without_recursion() -> None:
    clones = [f"{pid} 1.{pid:06d} {CLONE.format(pid + 1)}" for pid in range(1, 5001)]
    tree = parse(log('5001 1.0 write(1, "deep\\n", 5) = 5', *clones, "1 2.0 +++ exited with 0 +++"))
    assert tree.procs[5001].parent == 5000 and len(tree.descendants(1)) == 5000 and not tree.untraced


def test_a_reused_id_is_not_judged() -> None:
    """pid_max is 32,768 on many hosts: a thread's id, once it ended, may come back as a new process, which
    the tree would otherwise take for that thread (its lines for main's)."""
    thread = "clone(child_stack=0x7f, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD) = 5"
    tree = parse(
        log(
            f"1 1.1 {thread}",
            "5 1.2 exit(0) = ?",
            "5 1.3 +++ exited with 0 +++",
            f"1 1.4 {CLONE.format(5)}",
            '5 1.5 write(1, "Process (1) start...\\n", 21) = 21',
            "1 2.0 +++ exited with 0 +++",
        )
    )
    assert tree.untraced == [5] and any("id 5 was given to two" in p for p in tree.problems)


def test_a_kill_storm_is_bounded_and_the_real_sender_still_known() -> None:
    tree = parse(synthetic.kill_storm(limit=4 << 20))
    child = tree.procs[synthetic.MAIN + 1]
    assert (child.signal, child.signal_sender) == ("SIGTERM", synthetic.MAIN)
    assert len(tree.kills) <= 2 * 10_000 + 2 and len(child.signals) == 1


def test_a_trimmed_tree_keeps_main_first_and_counts_the_rest() -> None:
    tree = parse(synthetic.many_children(limit=1 << 20))
    small = tree.trimmed(100)
    assert len(small.procs) == 100 and small.procs_dropped == len(tree.procs) - 100
    assert small.root == tree.root and tree.root in small.procs
    assert {ln.pid for ln in small.lines} <= set(small.procs)
    assert len(small.children(synthetic.MAIN)) == 99
    assert len(tree.trimmed(len(tree.procs)).procs) == len(tree.procs)
    assert len(small.model_dump_json()) < len(tree.model_dump_json()) // 10


def test_iovecs_strace_left_out_spoil_their_line() -> None:
    iov = '[{iov_base="Parent process 1.\\n", iov_len=18}, {iov_base="Wait", iov_len=4}, ...]'
    tree = parse(log(f"1 1.1 writev(1, {iov}, 3) = 40", "1 2.0 +++ exited with 0 +++"))
    assert [(ln.text, ln.cut) for ln in tree.lines] == [("Parent process 1.", 0), ("Wait", 18)]


def test_a_message_names_a_dozen_processes_and_counts_the_rest() -> None:
    from grader.checks import NAMED_PIDS, names
    from grader.tree import Proc

    many = [Proc(pid=pid) for pid in range(100, 1600)]
    said = names(many)
    assert said.endswith(f"and {1500 - NAMED_PIDS} more") and len(said) < 200
    assert names(many[:3]) == "100, 101, 102" and names([]) == "none"
