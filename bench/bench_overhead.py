"""Grading overhead, measured in one run: bare python3, a bare `docker run` of the same script in the same image,
and a full grade (DockerSandbox.run with the seccomp profile and every limit on, plus judge). Medians of N runs."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bytecode import compiled
from installed import installed_grade

from grader.catalog import resolve
from grader.grading import judge
from grader.sandbox.base import RunRequest
from grader.sandbox.docker import DockerSandbox
from grader.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "solutions" / "ex1_fork.py"
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 10


def medians(fns: dict[str, Callable[[], object]], runs: int = RUNS) -> dict[str, float]:
    """Each function's median time, the runs interleaved (one of each in turn) so that a machine that slows
    down or speeds up during the benchmark moves every figure alike, and the ratios stay fair."""
    for fn in fns.values():
        fn()  # warm-up: page cache, image layers
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    compiled()
    wheel_grade = installed_grade()
    settings = Settings()
    sandbox = DockerSandbox(settings)  # builds the image if needed, outside the timings
    source = SCRIPT.read_bytes()
    exercise = resolve("ex1")

    def bare_python() -> None:
        subprocess.run([sys.executable, str(SCRIPT)], check=True, capture_output=True)

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "solution.py").write_bytes(source)

        def bare_docker() -> None:
            cmd = ["docker", "run", "--rm", "--entrypoint", "python3", "-v", f"{tmp}:/s:ro", sandbox.image]
            subprocess.run([*cmd, "/s/solution.py"], check=True, capture_output=True)

        def graded() -> None:
            request = RunRequest(source=source, settings=settings, dns=exercise.needs_dns)
            report = judge(exercise, sandbox.run(request), settings)
            assert report.status == "passed", report.reason

        def cli() -> None:  # what a student types: interpreter start-up and imports included
            cmd = [sys.executable, "-m", "grader", "submit", "ex1", "--file", str(SCRIPT), "--format", "json"]
            subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)

        def installed() -> None:  # the same, from the wheel in a venv of its own, run outside the checkout
            cmd = [str(wheel_grade), "submit", "ex1", "--file", str(SCRIPT), "--format", "json"]
            subprocess.run(cmd, check=True, capture_output=True, cwd=tmp)

        fns = {"python": bare_python, "docker": bare_docker, "grade": graded, "cli": cli, "installed": installed}
        got = medians(fns)
    python_s, docker_s, grade_s, cli_s = got["python"], got["docker"], got["grade"], got["cli"]
    print(f"median of {RUNS} runs (interleaved) of {SCRIPT.relative_to(ROOT)}")
    print(f"  bare python3                       {python_s * 1000:8.1f} ms")
    print(f"  bare docker run (same image)       {docker_s * 1000:8.1f} ms")
    print(f"  grade (sandbox + seccomp + limits) {grade_s * 1000:8.1f} ms")
    print(f"  `grade submit` command, end to end {cli_s * 1000:8.1f} ms  (python -m grader in this checkout)")
    print(f"  `grade submit`, installed wheel    {got['installed'] * 1000:8.1f} ms  (a venv of its own)")
    print(f"  grade / docker run  = {grade_s / docker_s:.2f}  (goal <= 1.5)")
    print(f"  `grade submit` / docker run = {cli_s / docker_s:.2f}  (goal <= 1.5; checkout)")
    print(f"  `grade submit` / docker run = {got['installed'] / docker_s:.2f}  (goal <= 1.5; installed wheel)")
    print(f"  grade / python3     = {grade_s / python_s:.1f}")


if __name__ == "__main__":
    main()
