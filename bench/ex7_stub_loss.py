"""How often ex7's stub (no lock) loses deposits, and the reference never, in N sandboxed runs.

Usage: PYTHONPATH=. python3 bench/ex7_stub_loss.py [N] [stub|reference] — prints how many runs printed a
balance below 130000, how many printed none (a run that ended otherwise, its reason printed), and the
statuses (the closing note of issue 12 quotes it)."""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

from grader.catalog import resolve
from grader.grading import grade
from grader.sandbox.docker import DockerSandbox
from grader.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
FILES = {"stub": ROOT / "exercises" / "ex7_lock" / "solution.py", "reference": ROOT / "solutions" / "ex7_lock.py"}
EXPECTED = 130_000


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    which = sys.argv[2] if len(sys.argv) > 2 else "stub"
    settings = Settings(timeout_s=20)
    sandbox = DockerSandbox(settings)
    source = FILES[which].read_bytes()
    statuses: Counter[str] = Counter()
    lost = missing = 0
    for i in range(runs):
        report = grade(resolve("ex7"), source, sandbox=sandbox, settings=settings, name="solution.py")
        statuses[report.status] += 1
        printed = re.findall(r"balance = (\d+)", report.output)
        if report.status not in ("passed", "failed"):  # a run not judged: say why, whatever it printed
            print(f"  run {i + 1}: {report.status}: {report.reason}", flush=True)
        if not printed:
            missing += 1
        elif int(printed[-1]) < EXPECTED:
            lost += 1
    print(f"{which}: {lost}/{runs} runs lost deposits, {missing} printed no balance (statuses {dict(statuses)})")


if __name__ == "__main__":
    main()
