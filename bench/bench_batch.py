"""Batch benchmark: one generated class graded with --jobs 1 and with the default; runs/s, ratio and the floor.

The floor is the time the class's own programs need: the sum of their runtimes inside the sandbox (no
container start or teardown) divided by the cores. Usage: python bench/bench_batch.py [--sweep 1,2,4,6,8]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grader.batch import default_jobs, discover, run_batch  # noqa: E402
from grader.catalog import registry  # noqa: E402
from grader.sandbox.docker import DockerSandbox  # noqa: E402
from grader.settings import Settings  # noqa: E402
from grader.store import Store  # noqa: E402
from tests.class_factory import make_class  # noqa: E402


def run(root: Path, work: Path, jobs: int, sandbox: DockerSandbox, settings: Settings) -> tuple[float, int, Store]:
    cells = discover(root, list(registry().values()))
    store = Store(work / f"jobs{jobs}-{time.monotonic_ns()}.sqlite")
    t0 = time.monotonic()
    summary = run_batch(cells, store=store, sandbox=sandbox, settings=settings, jobs=jobs)
    elapsed = time.monotonic() - t0
    graded = summary.planned - summary.counts["missing"]
    print(f"  --jobs {jobs:<2}  {elapsed:6.1f}s  {graded / elapsed:5.2f} runs/s  {dict(summary.counts)}", flush=True)
    return elapsed, graded, store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sweep", default="", help="also time these --jobs values, e.g. 2,4,6,8")
    args = parser.parse_args()
    settings = Settings(timeout_s=8, grace_s=0.3, start_margin_s=10)
    cores = os.cpu_count() or 1
    default = default_jobs()
    sweep = sorted({int(j) for j in args.sweep.split(",") if j} - {1, default})
    sandbox = DockerSandbox(settings, pool_size=max([default, *sweep]) + 2)
    with tempfile.TemporaryDirectory() as tmp:
        root, work = Path(tmp) / "class", Path(tmp)
        planned = make_class(root)
        students = len({s for s, _ in planned})
        print(f"class: {students} students x {len(registry())} exercises, {cores} cores, default --jobs {default}")
        run(root, work, default, sandbox, settings)  # warm-up: image, page cache, engine
        one, graded, store = run(root, work, 1, sandbox, settings)
        for jobs in sweep:
            run(root, work, jobs, sandbox, settings)
        best, _, _ = run(root, work, default, sandbox, settings)
        bare = sum(r.duration_s for r in store.rows() if r.status != "missing")
        floor = bare / cores
        print(f"runs: {graded}; bare program time {bare:.1f}s -> floor {floor:.1f}s on {cores} cores")
        print(f"--jobs 1: {graded / one:.2f} runs/s   default (--jobs {default}): {graded / best:.2f} runs/s")
        print(
            f"speed-up over --jobs 1: {one / best:.2f}x (goal >= 3x)   "
            f"default / floor: {best / floor:.2f}x (goal <= 2x)"
        )


if __name__ == "__main__":
    main()
