"""Hostile and broken submissions graded as ex1: each ends in time, with its verdict, and leaves nothing behind."""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from grader.report import Report

from ..conftest import ROOT, GradeFile, failing

pytestmark = [pytest.mark.docker, pytest.mark.attack]
PROGRAMS = Path(__file__).parent / "programs"
LIMIT = 4.0  # seconds: short, so the suite stays quick
SLACK = 6.0  # container start and teardown on a loaded 2-core machine


@dataclass(frozen=True)
class Attack:
    status: tuple[str, ...]
    reason: str | None  # a regex the report's reason must match; None: no reason (the checks decide)
    output: tuple[str, ...] = ()  # regexes the captured stdout must match (what the sandbox refused)
    failed: tuple[str, ...] = ()  # checks that must fail
    settings: dict[str, object] = field(default_factory=dict)


ATTACKS: dict[str, Attack] = {
    "fork_bomb": Attack(("error",), r"^too many processes: .* failed \d+ times \(EAGAIN\) at the limit of 64"),
    "thread_bomb": Attack(("error",), r"^too many processes: "),
    "fork_churn": Attack(("timeout", "error"), r"^(time limit of 4s reached|too much activity|too many processes)"),
    "memory_bomb_children": Attack(("error",), r"^memory limit of 256 MiB exceeded"),
    "memory_bomb_main": Attack(("error",), r"^memory limit of 256 MiB exceeded"),
    "cpu_spin_many": Attack(
        ("timeout",), r"^time limit of 4s reached; alive: \d+ \(main\) running on the CPU(, \d+ running on the CPU){8}"
    ),
    "sleeper_after_main": Attack(("failed",), r"^processes outlived main: \d+ ran on", failed=("nothing_left",)),
    "daemon_double_fork": Attack(("failed",), r"^processes outlived main: \d+ ran on", output=("daemon started",)),
    "signal_storm": Attack(("failed",), r"^processes outlived main: \d+ ran on"),
    "prctl_rename": Attack(("failed",), r"^processes outlived main: \d+ ran on", output=("COMM strace",)),
    "zombies": Attack(("failed",), None, output=("left 5 zombies",), failed=("reaped",)),
    "sigstop_child": Attack(("timeout",), r"^time limit of 4s reached; alive: \d+ \(main\) waiting for a child"),
    "slow_import": Attack(("timeout",), r"^time limit of 4s reached; alive: \d+ \(main\) sleeping \(time\.sleep\)$"),
    "kill_parent": Attack(
        ("failed",), r"^runtime error: PermissionError", output=(r"kill \d+ errno=1\nkill 1 errno=1",)
    ),
    "kill_everything": Attack(("failed",), None, failed=("child_exit",)),
    "killpg_self": Attack(("failed",), None, failed=("main_exit",)),
    "ptrace_traceme": Attack(
        ("failed",), None, output=(r"TRACEME rc=-1 errno=1", r"ATTACH rc=-1 errno=1", r"ATTACH1 rc=-1 errno=1")
    ),
    "clone_untraced": Attack(("failed",), None, output=(r"clone errno=1\n",)),
    "clone3": Attack(("failed",), None, output=(r"clone3 rc=-1 errno=38",)),
    "unshare_namespace": Attack(("failed",), None, output=(r"(rc=-1 errno=1\n.*){6}",)),
    "fake_trace_lines": Attack(("failed",), None, failed=("one_child",)),
    "writes_everywhere": Attack(
        ("failed",), None, output=(r"WRITABLE \['/dev/shm', '/dev/shm \(symlink\)', '/tmp', '/tmp \(symlink\)'\]",)
    ),
    "read_secrets": Attack(("failed",), None, output=(r"FOUND \[\]\nREADABLE \[\]",)),
    "dump_env": Attack(
        ("failed",),
        None,
        output=(
            r"ENV \['HOME', 'LANG', 'LOGNAME', 'PATH', 'PYTHONDONTWRITEBYTECODE', 'PYTHONUNBUFFERED', 'USER'\]",
            r"ENVIRON 1 errno=13",
        ),
    ),
    "network": Attack(("failed",), None, output=(r"REACHED \[\]",)),
    "fill_tmp_big": Attack(("failed",), None, output=(r"BIG (\d+) errno=(28|27)",)),
    "fill_tmp_small": Attack(("failed",), None, output=(r"SMALL (\d+) errno=28",)),
    "line_flood": Attack(
        ("error",), r"^output limit: ", settings={"output_bytes": 64 << 10, "output_stop_bytes": 256 << 10}
    ),
    "nonewline_flood": Attack(("error",), r"^output limit: the program printed 8\.\d MiB"),
    "binary_output": Attack(("failed",), None),
    "close_stdout": Attack(("failed",), None),
    "setrlimit_games": Attack(  # it sets a 1 s CPU limit on itself: on a busy machine 4 s of wall time may come first
        ("failed", "timeout"), None, output=("NOFILE refused", "FSIZE refused", "CORE refused", "NPROC refused")
    ),
    "exit_mid_write": Attack(("failed",), None, failed=("main_exit",)),
    "execv_other": Attack(("failed",), None, failed=("one_child",)),
    "runtime_error": Attack(("failed",), r"^runtime error: ValueError: boom in the parent$"),
    "stdin_read": Attack(("failed",), r"^runtime error: EOFError"),
    "reopen_stdout": Attack(("failed",), r"^runtime error: PermissionError"),
}


def leftovers(container: str | None) -> str:
    if container is None:
        return ""
    ps = ["docker", "ps", "-a", "-q", "--no-trunc", "--filter", "label=grade.run", "--filter", f"id={container}"]
    return subprocess.run(ps, capture_output=True, text=True, check=True).stdout.strip()


def record(name: str, elapsed: float) -> None:
    """Times over the limit, for the closing note: GRADE_ATTACK_LOG=path collects them."""
    if log := os.environ.get("GRADE_ATTACK_LOG"):
        with open(log, "a") as f:
            f.write(json.dumps({"attack": name, "elapsed": elapsed, "over": elapsed - LIMIT}) + "\n")


def test_the_suite_is_big_enough() -> None:
    assert len(ATTACKS) + 2 >= 30  # + the two refused before any container starts (below)
    from .test_attacks_trace import FORGERIES  # (it imports this module's LIMIT)

    # the programs at the top of programs/ are this file's and the trace forgeries' (the other suites keep
    # theirs in sub-folders: sandbox/, exercises/, injection/, ci/, gradescope_shadow_grader/)
    assert {p.stem for p in PROGRAMS.glob("*.py")} == set(ATTACKS) | set(FORGERIES) | {"vmsplice_output"}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_is_contained(grade_file: GradeFile, sandbox, name: str) -> None:  # type: ignore[no-untyped-def]
    attack = ATTACKS[name]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.monotonic()
    report: Report = grade_file("ex1", PROGRAMS / f"{name}.py", timeout_s=LIMIT, **attack.settings)
    elapsed = time.monotonic() - t0
    record(name, elapsed)
    why = (report.status, report.reason, failing(report), report.output[:300], report.stderr[-300:])
    assert report.status in attack.status, why
    if attack.reason is None:
        assert report.reason is None or "memory" not in report.reason, why
    else:
        assert report.reason and re.search(attack.reason, report.reason), why
    for pattern in attack.output:
        assert re.search(pattern, report.output), why
    assert set(attack.failed) <= set(failing(report)), why
    assert not report.full_marks and report.score < report.max_score, why
    assert elapsed < LIMIT + SLACK, f"{name} took {elapsed:.1f}s"
    assert report.duration_s < LIMIT + 3, report.duration_s
    assert leftovers(sandbox.last_container) == "", "the container was left behind"
    # the grader itself is unaffected: no flood or bomb grows its memory
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss < 200_000, "grader memory grew by > 200 MB"
    report.model_dump_json()  # whatever bytes it printed, the report serialises


def test_tmp_fills_stop_at_the_tmpfs_limits(grade_file: GradeFile, settings) -> None:  # type: ignore[no-untyped-def]
    big = grade_file("ex1", PROGRAMS / "fill_tmp_big.py", timeout_s=LIMIT)
    small = grade_file("ex1", PROGRAMS / "fill_tmp_small.py", timeout_s=LIMIT)
    assert int(re.search(r"BIG (\d+)", big.output).group(1)) <= settings.tmpfs_mb << 20  # type: ignore[union-attr]
    assert int(re.search(r"SMALL (\d+)", small.output).group(1)) <= settings.tmpfs_inodes  # type: ignore[union-attr]


def test_fake_trace_lines_change_nothing(grade_file: GradeFile) -> None:
    """Lines shaped like strace's, on stdout and stderr, claim a child 16 that never existed."""
    report = grade_file("ex1", PROGRAMS / "fake_trace_lines.py", timeout_s=LIMIT)
    tree = report.tree
    assert tree is not None and tree.main is not None
    assert list(tree.procs) == [tree.root], tree.procs.keys()  # main only: no child 16, no clone
    assert tree.main.exit_code == 0 and not tree.kills and tree.main.parent is None
    assert 16 not in tree.procs and tree.failed_forks == 0
    assert "+++ exited with 0 +++" in report.output and "+++ exited with 0 +++" in report.stderr
    assert report.reason is None  # the fake `strace:` line on stderr was written by the student: no tracer error


def test_kill_everything_names_main_as_the_sender(grade_file: GradeFile) -> None:
    report = grade_file("ex1", PROGRAMS / "kill_everything.py", timeout_s=LIMIT)
    tree = report.tree
    assert tree is not None and tree.main is not None
    child = next(p for p in tree.procs.values() if p.parent == tree.root)
    assert (child.signal, child.signal_sender) == ("SIGKILL", tree.root)


def test_execv_is_seen_as_another_program(grade_file: GradeFile) -> None:
    report = grade_file("ex1", PROGRAMS / "execv_other.py", timeout_s=LIMIT)
    assert report.tree is not None and report.tree.main is not None
    assert [e.path for e in report.tree.main.execs if e.ok][-1] == "/bin/sh"


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (b"import os\nprint('x'\nos.fork()\n", r"^syntax error in syntax_error\.py line 2: "),
        (b"  \n\n", r"^empty\.py is empty"),
    ],
    ids=["syntax_error", "empty"],
)
def test_refused_before_any_container(  # type: ignore[no-untyped-def]
    sandbox, grade_file: GradeFile, tmp_path: Path, source: bytes, reason: str
) -> None:
    path = tmp_path / ("syntax_error.py" if b"print" in source else "empty.py")
    path.write_bytes(source)
    before = sandbox.last_container
    report = grade_file("ex1", path, timeout_s=LIMIT)
    assert report.status == "failed" and report.score == 0
    assert report.reason and re.search(reason, report.reason), report.reason
    assert sandbox.last_container == before  # no container was started


@pytest.mark.parametrize("variant", ["crlf", "bom", "crlf_bom"])
def test_crlf_and_bom_files_simply_run(grade_file: GradeFile, tmp_path: Path, variant: str) -> None:
    source = (ROOT / "solutions" / "ex1_fork.py").read_bytes()
    if "crlf" in variant:
        source = source.replace(b"\n", b"\r\n")
    if "bom" in variant:
        source = b"\xef\xbb\xbf" + source
    path = tmp_path / "solution.py"
    path.write_bytes(source)
    report = grade_file("ex1", path, timeout_s=LIMIT)
    assert report.status == "passed", (report.reason, failing(report))
