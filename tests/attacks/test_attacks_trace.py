"""Hostile programs aimed at the trace parser and the tree (issue 14, items 2, 4, 5, 7, 9), run in the real
Docker sandbox: each forged full marks before its fix."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader.catalog import resolve
from grader.checks import mp_helper, untraced_output
from grader.grading import judge
from grader.sandbox.base import RunRequest
from grader.settings import Settings
from grader.trace import parse

from ..conftest import ROOT, GradeFile, failing
from .test_attacks import LIMIT, leftovers

pytestmark = [pytest.mark.docker, pytest.mark.attack]
PROGRAMS = Path(__file__).parent / "programs"


@dataclass(frozen=True)
class Forgery:
    exercise: str
    failed: tuple[str, ...]  # checks that must fail
    output: str  # a regex the captured stdout must match: the program did what it says


FORGERIES: dict[str, Forgery] = {
    # item 2: a second child made with clone(CLONE_PARENT) is main's parent's child; attributed to main
    "clone_parent_sibling": Forgery("ex1", ("one_child",), r"I am child process"),
    # item 4: the child became /bin/sh through an execve from a second thread
    "exec_from_thread": Forgery("ex1", ("forked",), r"I am child process \(\d+\) and my parent is \d+\."),
    # item 5: rt_sigqueueinfo with si_pid = main; no kill call from main
    "forged_signal_sender": Forgery("ex5", ("reader_terminated",), r"Get C from queue"),
    # item 7: a child whose argv merely mentions multiprocessing.resource_tracker
    "fake_mp_helper": Forgery("ex2", ("one_child",), r"Child process end"),
}


@pytest.mark.parametrize("name", sorted(FORGERIES))
def test_forgery_gets_no_full_marks(grade_file: GradeFile, sandbox, name: str) -> None:  # type: ignore[no-untyped-def]
    forgery = FORGERIES[name]
    report = grade_file(forgery.exercise, PROGRAMS / f"{name}.py", timeout_s=LIMIT)
    why = (report.status, report.reason, failing(report), report.output[:400], report.stderr[-300:])
    assert re.search(forgery.output, report.output), why
    assert set(forgery.failed) <= set(failing(report)), why
    assert not report.full_marks and report.score < report.max_score, why
    assert leftovers(sandbox.last_container) == "", "the container was left behind"


@pytest.mark.parametrize("name", sorted([*FORGERIES, "vmsplice_output"]))
def test_forgery_gets_no_full_marks_under_the_none_sandbox(settings: Settings, name: str) -> None:
    """The same forgeries where Gradescope and GitLab grade: --sandbox none (its launcher and filter, no Docker)."""
    from grader.grading import grade
    from grader.sandbox.none import NoneSandbox

    exercise = FORGERIES[name].exercise if name in FORGERIES else "ex1"
    path = PROGRAMS / f"{name}.py"
    s = settings.model_copy(update={"timeout_s": LIMIT})
    report = grade(resolve(exercise), path.read_bytes(), sandbox=NoneSandbox(s), settings=s, name=path.name)
    why = (report.status, report.reason, failing(report), report.output[:400], report.stderr[-300:])
    assert not report.full_marks and report.score < report.max_score, why
    if name in FORGERIES:
        assert set(FORGERIES[name].failed) <= set(failing(report)), why


def test_clone_parent_child_is_attributed_to_main(grade_file: GradeFile) -> None:
    report = grade_file("ex1", PROGRAMS / "clone_parent_sibling.py", timeout_s=LIMIT)
    tree = report.tree
    assert tree is not None and tree.main is not None
    kids = tree.children(tree.main.pid)
    assert len(kids) == 2, [(p.pid, p.parent, p.creator) for p in tree.procs.values()]
    assert all(p.creator == tree.main.pid for p in kids)
    assert not tree.untraced  # created by a traced call: attributed, not hidden


def test_exec_from_a_thread_is_recorded(grade_file: GradeFile) -> None:
    report = grade_file("ex1", PROGRAMS / "exec_from_thread.py", timeout_s=LIMIT)
    tree = report.tree
    assert tree is not None and tree.main is not None
    (child,) = tree.children(tree.main.pid)
    assert child.program == "/bin/sh" and child.exit_code == 0, child
    assert child.execs[-1].argv[:2] == ["sh", "-c"]


def test_forged_siginfo_names_no_sender(grade_file: GradeFile) -> None:
    report = grade_file("ex5", PROGRAMS / "forged_signal_sender.py", timeout_s=LIMIT)
    tree = report.tree
    assert tree is not None and tree.main is not None
    reader = next(p for p in tree.procs.values() if p.signal == "SIGTERM")
    claimed = [ev.sender for ev in reader.signals if ev.signal == "SIGTERM"]
    assert claimed == [tree.main.pid]  # the siginfo says main ...
    # ... but the traced call that sent it was the reader's own rt_sigqueueinfo (strace's %process shows it)
    assert reader.signal_sender == reader.pid


def test_fake_helper_is_the_students_and_real_helpers_are_known(grade_file: GradeFile) -> None:
    report = grade_file("ex2", PROGRAMS / "fake_mp_helper.py", timeout_s=LIMIT, start_method="spawn")
    tree = report.tree
    assert tree is not None and tree.main is not None
    helpers = {p.pid: mp_helper(p, tree) for p in tree.descendants(tree.main.pid)}
    # spawn starts the real resource tracker: still known; the student's look-alike is not a helper
    assert sorted(h for h in helpers.values() if h) == ["resource tracker"], helpers
    fake = [p for p in tree.descendants(tree.main.pid) if "multiprocessing.resource_tracker" in p.execs[-1:][0].argv]
    assert fake and all(mp_helper(p, tree) is None for p in fake)


def _outcome(sandbox, path: Path, exercise: str):  # type: ignore[no-untyped-def]
    settings = Settings(timeout_s=LIMIT, grace_s=0.3, start_margin_s=10)
    return sandbox.run(RunRequest(source=path.read_bytes(), settings=settings, dns=resolve(exercise).needs_dns))


def test_vmsplice_output_is_untraced(sandbox) -> None:  # type: ignore[no-untyped-def]
    """Item 9: bytes that reach the output around the traced calls make the output unjudgeable, and the fake
    `strace:` line is not the tracer's (grading.classify is to call untraced_output before tracer_errors)."""
    outcome = _outcome(sandbox, PROGRAMS / "vmsplice_output.py", "ex1")
    assert b"Not traced at all." in outcome.stdout and b"vmsplice 19 errno=0" in outcome.stdout
    tree = parse(outcome.trace)
    assert not any("Not traced" in ln.text for ln in tree.lines)  # judged from the trace only
    reason = untraced_output(tree, outcome)
    assert reason is not None and reason.startswith("untraced output: stdout holds"), reason
    assert "student" not in reason
    report = judge(resolve("ex1"), outcome, Settings())
    assert not report.full_marks
    assert report.status == "error" and (report.reason or "").startswith("untraced output: stdout holds")


@pytest.mark.parametrize("exercise", ["ex1_fork", "ex2_process", "ex3_pool", "ex4_subprocess", "ex5_queue"])
def test_references_write_only_through_traced_calls(sandbox, exercise: str) -> None:  # type: ignore[no-untyped-def]
    outcome = _outcome(sandbox, ROOT / "solutions" / f"{exercise}.py", exercise)
    tree = parse(outcome.trace)
    assert untraced_output(tree, outcome) is None, (tree.written, outcome.stdout_bytes, outcome.stderr_bytes)
    assert tree.written.get("stdout") == outcome.stdout_bytes
