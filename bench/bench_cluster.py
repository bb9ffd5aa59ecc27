"""Cluster benchmark: the same generated class through 2 workers on this machine against the local batch with
the same total jobs, as a ratio of wall times (the queue's overhead; goal <= 1.15x), and the broker's own cost
per task in ms (sending a task with a file in it, then collecting and deleting a report-sized result).

Starts its own redis-server on a loopback port and stops it. Usage: python bench/bench_cluster.py [--jobs 2]
(runs per worker; the local batch gets twice as many) [--rounds 3]."""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.class_factory import make_class  # noqa: E402
from tests.servers import free_port  # noqa: E402

ENV = {"GRADE_TIMEOUT_S": "8", "GRADE_GRACE_S": "0.3", "GRADE_START_MARGIN_S": "10", "PYTHONPATH": str(ROOT)}


def _batch(root: Path, db: Path, *args: str) -> float:
    t0 = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "grader", "batch", str(root), "--db", str(db), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **ENV},
    )
    elapsed = time.monotonic() - t0
    if done.returncode != 0:
        sys.exit(f"batch failed: {done.stderr[-2000:]}")
    return elapsed


def _worker(url: str, name: str, jobs: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "grader", "worker", "--broker", url, "-j", str(jobs), "-n", name],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **ENV},
            cwd=log.parent,
        )
    while f"{name} ready." not in log.read_text(errors="replace"):
        if proc.poll() is not None:
            sys.exit(f"worker {name} did not start: {log.read_text()[-2000:]}")
        time.sleep(0.2)
    return proc


def broker_cost(url: str, n: int = 400) -> tuple[float, float]:
    """ms per task to send one (a 2 KiB file in it), and to collect and delete a 12 KiB result."""
    from grader.batch import Cell
    from grader.catalog import resolve
    from grader.cluster.remote import Broker
    from grader.layouts import Found
    from grader.settings import Settings

    client = Broker(url, Settings())
    source = b"# a typical submission\n" + b"x = 1\n" * 340
    found = Found(Path("ex1.py"), "flat", "bench")
    tasks = {f"bench-{i}": Cell(f"s{i}", resolve("ex1"), found, source, "0" * 64) for i in range(n)}
    client.queue = "grade.bench"  # no worker takes this queue: only the broker's side is timed
    t0 = time.perf_counter()
    client.send("bench", tasks)
    send = (time.perf_counter() - t0) / n
    result = {"judge": "bench", "report": "r" * (12 << 10)}
    for tid in tasks:
        client.backend.store_result(tid, result, "SUCCESS")
    t0 = time.perf_counter()
    ready = client.ready(list(tasks))
    client.forget(list(ready))
    collect = (time.perf_counter() - t0) / n
    assert len(ready) == n
    client.backend.client.delete("grade.bench")
    return send * 1000, collect * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time per worker")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (a shared machine is noisy)")
    args = parser.parse_args()
    server = shutil.which("redis-server")
    if server is None:
        sys.exit("redis-server is not installed: bash .ci/setup.sh")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stopped: still stop the workers and redis
    port, password = free_port(), secrets.token_hex(8)
    url = f"redis://:{password}@127.0.0.1:{port}/0"
    redis = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--requirepass", password],
        stdout=subprocess.DEVNULL,
    )
    workers: list[subprocess.Popen[bytes]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            planned = make_class(work / "class")
            runs = sum(p.path is not None for p in planned.values())
            time.sleep(0.5)
            workers = [_worker(url, f"bench{i}@local", args.jobs, work / f"w{i}.log") for i in range(2)]
            total = 2 * args.jobs
            print(
                f"class: {len(planned)} cells, {runs} with a file; 2 workers x {args.jobs} jobs vs local --jobs {total}"
            )
            _batch(work / "class", work / "warm.sqlite", "--jobs", str(total))  # image, page cache, engine
            ratios = []
            for r in range(args.rounds):
                local = _batch(work / "class", work / f"local{r}.sqlite", "--jobs", str(total))
                remote = _batch(work / "class", work / f"remote{r}.sqlite", "--broker", url)
                ratios.append(remote / local)
                print(
                    f"  round {r + 1}: local {local:6.1f}s ({runs / local:.2f} runs/s)  cluster {remote:6.1f}s "
                    f"({runs / remote:.2f} runs/s)  ratio {remote / local:.2f}x",
                    flush=True,
                )
            send, collect = broker_cost(url)
            shown = ", ".join(f"{r:.2f}x" for r in ratios)
            print(f"queue overhead: {statistics.median(ratios):.2f}x median of {shown} (goal <= 1.15x)")
            print(
                f"broker cost per task: {send:.2f} ms to send + {collect:.2f} ms to collect = {send + collect:.2f} ms"
            )
    finally:
        for w in workers:
            w.terminate()
            w.wait(timeout=120)
        redis.terminate()
        redis.wait(timeout=30)


if __name__ == "__main__":
    main()
