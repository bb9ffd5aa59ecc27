"""ex2 and ex3 under every multiprocessing start method: references pass, must-fail cases fail the same way."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.checks import mp_helper

from .conftest import ROOT, GradeFile, examples, failing

pytestmark = pytest.mark.docker

METHODS = ("fork", "spawn", "forkserver")
CASES = [*examples("ex2_process"), *examples("ex3_pool")]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("exercise", ["ex2_process", "ex3_pool"])
def test_reference_passes_under_start_method(grade_file: GradeFile, exercise: str, method: str) -> None:
    report = grade_file(exercise, ROOT / "solutions" / f"{exercise}.py", start_method=method)
    assert report.status == "passed", (method, failing(report), [c.message for c in report.checks if not c.passed])
    assert report.score == report.max_score
    tree = report.tree
    assert tree is not None and tree.main is not None
    procs = tree.descendants(tree.main.pid)
    workers = [p for p in procs if mp_helper(p) is None]
    assert len(workers) == (1 if exercise == "ex2_process" else 4), [p.pid for p in workers]
    # the method really took effect: forkserver workers are the forkserver's children, the others main's
    servers = {p.pid for p in procs if mp_helper(p) == "forkserver"}
    expected_parents = servers if method == "forkserver" else {tree.main.pid}
    assert servers if method == "forkserver" else not servers
    assert {p.parent for p in workers} == expected_parents
    assert any(mp_helper(p) == "resource tracker" for p in procs) == (method != "fork")


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_same_verdict_under_forkserver(grade_file: GradeFile, path: Path) -> None:
    # forkserver makes the workers grandchildren of main: the checks must still see them as main's
    report = grade_file(path.parent.name, path, start_method="forkserver")
    if path.name.startswith("pass__"):
        assert report.status == "passed", (failing(report), [c.message for c in report.checks if not c.passed])
    else:
        assert path.name.split("__")[1] in failing(report), (failing(report), report.reason)
