"""Parse and judge worst-case traces at the trace limit: seconds and peak memory per scenario and exercise.

Each (scenario, exercise) runs in a fresh interpreter, so its peak RSS is its own: the trace text (as the
sandbox hands it over), the parse, the judging and the JSON report. Usage: `python bench/bench_judge.py [MiB]`
(default: the trace limit, 32 MiB).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = ("ex1", "ex2", "ex3", "ex4", "ex5")


def one(path: str, exercise: str) -> dict[str, float]:
    """Run in the child: read the trace, then time the parse and the judging."""
    sys.path.insert(0, str(ROOT))
    from grader.catalog import resolve
    from grader.grading import judge
    from grader.sandbox.base import RunOutcome
    from grader.settings import Settings
    from grader.trace import parse

    text = Path(path).read_text()
    outcome = RunOutcome(trace=text, trace_bytes=len(text))
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.process_time()
    tree = parse(text)
    t1 = time.process_time()
    procs = len(tree.procs)
    del tree  # judge() parses again: one tree alive at a time, as in grading
    report = judge(resolve(exercise), outcome, Settings())
    size = len(report.model_dump_json())
    t2 = time.process_time()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "trace_mib": len(text) / (1 << 20),
        "lines": text.count("\n"),
        "procs": procs,
        "parse_s": t1 - t0,
        "judge_s": t2 - t1,  # judge() parses again: this is parse + checks + report
        "peak_mb": peak / 1024,
        "grader_mb": (peak - base) / 1024,  # beyond the interpreter and the trace text itself
        "report_mb": size / (1 << 20),
    }


HEAD = ("scenario", "ex", "MiB", "lines", "procs", "parse s", "judge s", "peak MB", "grader MB", "report MB")


def main() -> None:
    mib = int(sys.argv[1]) if len(sys.argv) > 1 else 32
    sys.path.insert(0, str(ROOT))
    from tests.traces.synthetic import SCENARIOS, chain

    print(f"{HEAD[0]:<14}{HEAD[1]:<5}" + "".join(f"{h:>10}" for h in HEAD[2:]))
    worst = {"judge_s": 0.0, "peak_mb": 0.0, "grader_mb": 0.0}
    with tempfile.TemporaryDirectory() as tmp:
        for scenario, make in SCENARIOS.items():
            path = Path(tmp) / f"{scenario}.trace"
            path.write_text(chain(60_000, mib << 20) if scenario == "chain" else make(mib << 20))
            for exercise in EXERCISES:
                code = f"import json, sys; sys.path.insert(0, {str(ROOT)!r}); from bench.bench_judge import one; "
                code += f"print(json.dumps(one({str(path)!r}, {exercise!r})))"
                out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
                r = json.loads(out.strip().splitlines()[-1])
                worst = {k: max(worst[k], r[k]) for k in worst}
                cols = ("trace_mib", "lines", "procs", "parse_s", "judge_s", "peak_mb", "grader_mb", "report_mb")
                print(f"{scenario:<14}{exercise:<5}" + "".join(f"{r[c]:>10.1f}" for c in cols))
    print(
        f"worst: judge {worst['judge_s']:.2f} s CPU (parse included), peak {worst['peak_mb']:.0f} MB RSS "
        f"({worst['grader_mb']:.0f} MB beyond the interpreter and the trace text)"
    )


if __name__ == "__main__":
    main()
