"""Outcomes recorded from real runs in the Docker sandbox, replayed through judge() by fake sandboxes.

Re-record with `PYTHONPATH=. python3 -m tests.outcomes` (needs a Docker engine) when the entrypoint's
outcome changes shape.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from grader.sandbox.base import RunOutcome

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
# name -> (exercise, program) of each recorded run
PROGRAMS = {
    "ex1_reference": ("ex1", (ROOT / "solutions" / "ex1_fork.py").read_text()),
    "ex1_print": ("ex1", "print('hello')\n"),
    "ex4_reference": ("ex4", (ROOT / "solutions" / "ex4_subprocess.py").read_text()),
}


def load(name: str, **changes: object) -> RunOutcome:
    """The recorded outcome `name`, with `changes` applied (an infra error, a DNS failure, stderr lines…)."""
    raw = json.loads((HERE / f"{name}.json").read_text())
    raw["stdout"] = base64.b64decode(raw["stdout"])
    raw["stderr"] = base64.b64decode(raw["stderr"])
    return RunOutcome.model_validate(raw).model_copy(update=changes)


def record() -> None:
    from grader.catalog import resolve
    from grader.sandbox.base import RunRequest
    from grader.sandbox.docker import DockerSandbox
    from grader.settings import Settings

    settings = Settings(timeout_s=8, grace_s=0.3, start_margin_s=10)
    box = DockerSandbox(settings)
    for name, (exercise, program) in PROGRAMS.items():
        request = RunRequest(source=program.encode(), settings=settings, dns=resolve(exercise).needs_dns)
        raw = box.run(request).model_dump(mode="python")
        raw["stdout"] = base64.b64encode(raw["stdout"]).decode()
        raw["stderr"] = base64.b64encode(raw["stderr"]).decode()
        (HERE / f"{name}.json").write_text(json.dumps(raw, indent=1) + "\n")
        print(f"recorded {name}")


if __name__ == "__main__":
    record()
