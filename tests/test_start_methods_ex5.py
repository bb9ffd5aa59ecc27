"""ex5 under every multiprocessing start method: the reference passes, the forkserver's grandchildren
still count as main's two processes, and every must-pass and must-fail case keeps its verdict (the values are
seen to travel through the Queue's pipe however the processes got it: inherited, passed to an exec, or sent
to the forkserver)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import ROOT, GradeFile, examples, failing

pytestmark = pytest.mark.docker

REFERENCE = ROOT / "solutions" / "ex5_queue.py"


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_reference_passes_under_every_start_method(grade_file: GradeFile, method: str) -> None:
    report = grade_file("ex5_queue", REFERENCE, start_method=method)
    assert report.status == "passed", (method, failing(report), report.reason, [c.message for c in report.checks])
    assert report.score == report.max_score
    assert report.tree is not None and report.tree.main is not None
    main = report.tree.main.pid
    workers = [p for p in report.tree.procs.values() if not p.execs or "spawn_main" in " ".join(p.execs[-1].argv)]
    workers = [p for p in workers if p.pid != main]
    assert len(workers) == 2, [(p.pid, p.parent, p.execs) for p in workers]
    if method == "forkserver":  # forked by the forkserver, not by main: the check must still pass
        assert all(p.parent != main for p in workers)
    else:
        assert all(p.parent == main for p in workers)


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
@pytest.mark.parametrize("path", examples("ex5_queue"), ids=lambda p: p.stem)
def test_same_verdict_under_start_method(grade_file: GradeFile, path: Path, method: str) -> None:
    report = grade_file("ex5_queue", path, start_method=method)
    why = (method, failing(report), report.reason, [c.message for c in report.checks if not c.passed])
    if path.name.startswith("pass__"):
        assert report.status == "passed", why
    else:
        assert path.name.split("__")[1] in failing(report), why
