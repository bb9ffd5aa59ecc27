"""How often ex7's stub (no lock) loses deposits, and the reference never, in N sandboxed runs.

Usage: PYTHONPATH=. python3 bench/ex7_stub_loss.py [N] [stub|reference]  — prints the count of runs whose
printed balance was below 130000 and the balances seen (the closing note of issue 12 quotes it)."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from grader.catalog import resolve
from grader.grading import grade
from grader.sandbox.docker import DockerSandbox
from grader.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
FILES = {"stub": ROOT / "exercises" / "ex7_lock" / "solution.py", "reference": ROOT / "solutions" / "ex7_lock.py"}


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    which = sys.argv[2] if len(sys.argv) > 2 else "stub"
    settings = Settings(timeout_s=20)
    sandbox = DockerSandbox(settings)
    source = FILES[which].read_bytes()
    seen: Counter[str] = Counter()
    lost = 0
    for i in range(runs):
        report = grade(resolve("ex7"), source, sandbox=sandbox, settings=settings, name="solution.py")
        check = next(c for c in report.checks if c.id == "balance")
        lost += not check.passed
        seen[report.status] += 1
        if report.status not in ("passed", "failed"):
            print(f"  run {i + 1}: {report.status}: {report.reason}", flush=True)
    print(f"{which}: {lost}/{runs} runs lost deposits (statuses {dict(seen)})")


if __name__ == "__main__":
    main()
