"""Attacks on the sandbox itself, graded as ex1 in both sandboxes: the tracer's words, a seccomp filter of the
program's own, orphans left to init, memory filled where no process holds it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader.catalog import resolve
from grader.grading import grade
from grader.report import Report
from grader.sandbox.none import NoneSandbox
from grader.settings import Settings

from ..conftest import failing
from .test_attacks import LIMIT, leftovers

pytestmark = [pytest.mark.docker, pytest.mark.attack]
PROGRAMS = Path(__file__).parent / "programs" / "sandbox"


@dataclass(frozen=True)
class Attack:
    status: tuple[str, ...]
    reason: str | None  # a regex the reason must match; None: no reason at all
    output: tuple[str, ...] = ()  # regexes the captured stdout must match
    failed: tuple[str, ...] = ()  # checks that must fail
    full_marks: bool = False  # a harmless program doing ex1 right keeps its marks
    sandboxes: tuple[str, ...] = ("docker", "none")


ATTACKS: dict[str, Attack] = {
    # stderr lines in strace's words, spliced around the traced calls: output the trace did not see is the
    # student's error, never the tracer's words
    "fake_tracer_words": Attack(("error",), r"^untraced output: stderr holds \d+ bytes"),
    "seccomp_user_notif": Attack(("failed",), None, output=(r"SECCOMP refused errno 1\n",), failed=("one_child",)),
    "orphan_zombies": Attack(("failed",), None, output=(r"made 150 orphans",)),
    # no cgroup under --sandbox none: the host's memory is not what this attack may fill
    "memfd_fill": Attack(("error",), r"^memory limit of 256 MiB exceeded", sandboxes=("docker",)),
}


@pytest.fixture(scope="module")
def none_sandbox(settings: Settings) -> NoneSandbox:
    return NoneSandbox(settings)


def test_every_program_has_its_attack() -> None:
    assert {p.stem for p in PROGRAMS.glob("*.py")} == set(ATTACKS)


CASES = [(name, box) for name, attack in sorted(ATTACKS.items()) for box in attack.sandboxes]


@pytest.mark.parametrize(("name", "box"), CASES, ids=[f"{n}-{b}" for n, b in CASES])
def test_sandbox_attack(sandbox, none_sandbox: NoneSandbox, settings: Settings, name: str, box: str) -> None:  # type: ignore[no-untyped-def]
    attack = ATTACKS[name]
    path = PROGRAMS / f"{name}.py"
    chosen = sandbox if box == "docker" else none_sandbox
    s = settings.model_copy(update={"timeout_s": LIMIT})
    report: Report = grade(resolve("ex1"), path.read_bytes(), sandbox=chosen, settings=s, name=path.name)
    why = (report.status, report.reason, failing(report), report.output[:300], report.stderr[-300:])
    assert report.status in attack.status, why
    if attack.reason is None:
        assert report.reason is None, why
    else:
        assert report.reason and re.search(attack.reason, report.reason), why
    for pattern in attack.output:
        assert re.search(pattern, report.output), why
    assert set(attack.failed) <= set(failing(report)), why
    assert report.full_marks == attack.full_marks, why
    assert report.tree is not None and report.tree.failed_forks == 0, why  # never "too many processes"
    if box == "docker":
        assert leftovers(sandbox.last_container) == "", "the container was left behind"


def test_fake_tracer_words_reach_stderr_and_stay_the_students(grade_file) -> None:  # type: ignore[no-untyped-def]
    report = grade_file("ex1", PROGRAMS / "fake_tracer_words.py", timeout_s=LIMIT)
    assert "strace: attach: ptrace(PTRACE_SEIZE, 1)" in report.stderr, report.stderr  # spliced, never write()n
    assert report.status == "error" and report.fault is None, report.reason  # the student's, never the tracer's
    assert report.reason and report.reason.startswith("untraced output: stderr") and "ptrace" not in report.reason


def test_a_fork_hidden_from_the_tracer_is_an_error_even_with_the_filter_allowed(  # type: ignore[no-untyped-def]
    sandbox, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    """Second layer: with the launcher's filter off, the program's own user-notification filter goes in and its
    fork reaches the trace only as a process nobody created: that run cannot be judged (before: 10/10)."""
    monkeypatch.setattr(sandbox, "config_overrides", {"student_filter": False})
    path = PROGRAMS / "seccomp_user_notif.py"
    s = settings.model_copy(update={"timeout_s": LIMIT})
    report = grade(resolve("ex1"), path.read_bytes(), sandbox=sandbox, settings=s, name=path.name)
    assert "SECCOMP installed" in report.output, report.output
    assert report.status == "error" and report.reason, report.reason
    assert re.match(r"untraced: processes \d+ ran outside the tracer", report.reason), report.reason


NONE_FILTERED = {  # the Docker profile's refusals, held under --sandbox none by the launcher's filter alone
    "clone_untraced": r"clone errno=1\n",
    "clone3": r"clone3 rc=-1 errno=38",
    "unshare_namespace": r"(rc=-1 errno=1\n.*){6}",
}


@pytest.mark.parametrize("name", sorted(NONE_FILTERED))
def test_the_none_sandbox_refuses_what_the_docker_profile_refuses(
    none_sandbox: NoneSandbox, settings: Settings, name: str
) -> None:
    path = PROGRAMS.parent / f"{name}.py"
    s = settings.model_copy(update={"timeout_s": LIMIT})
    report = grade(resolve("ex1"), path.read_bytes(), sandbox=none_sandbox, settings=s, name=path.name)
    assert re.search(NONE_FILTERED[name], report.output), (report.status, report.reason, report.output)
    assert not report.full_marks and report.status == "failed", (report.status, report.reason)
