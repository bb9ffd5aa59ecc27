"""ex9 (Pipe) under every multiprocessing start method: the pipe's ends are followed into the child whether
inherited by fork, kept across spawn's exec, or sent to the forkserver, and every case keeps its verdict.
ex6-ex8 create threads only; their must-fail 'Process instead of a thread' keeps its verdict too."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import ROOT, SUBMISSIONS, GradeFile, examples, failing

pytestmark = pytest.mark.docker
METHODS = ["fork", "spawn", "forkserver"]


@pytest.mark.parametrize("method", METHODS)
def test_ex9_reference_passes_under_every_start_method(grade_file: GradeFile, method: str) -> None:
    report = grade_file("ex9_pipe", ROOT / "solutions" / "ex9_pipe.py", start_method=method)
    assert report.status == "passed", (method, failing(report), report.reason, [c.message for c in report.checks])
    assert report.tree is not None
    duplex = [p for p in report.tree.pipes.values() if p.kind == "socketpair" and p.writes]
    assert len(duplex) == 1 and len(duplex[0].writes) == 4  # 1, 2, 3, None through Pipe()'s socket pair


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
@pytest.mark.parametrize(
    "path",
    examples("ex9_pipe") + [SUBMISSIONS / "ex6_threads" / "fail__one_thread__process_instead.py"],
    ids=lambda p: f"{p.parent.name}/{p.stem}",
)
def test_same_verdict_under_start_method(grade_file: GradeFile, path: Path, method: str) -> None:
    report = grade_file(path.parent.name, path, start_method=method)
    why = (method, failing(report), report.reason, [c.message for c in report.checks if not c.passed])
    if path.name.startswith("pass__"):
        assert report.status == "passed", why
    else:
        assert path.name.split("__")[1] in failing(report), why
