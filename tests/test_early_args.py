"""A `grade submit` line read before the CLI loads (grader/early_args.py): the reader takes only plain submit
lines, the run it starts is adopted only by exactly the submit the CLI then parses, and a run nobody adopts is
stopped with its container removed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from grader.early_args import SubmitArgs, read

from .conftest import ROOT
from .test_early_start import running_sources


def test_a_plain_submit_line_is_read() -> None:
    args = read(["ex1", "--file", "a.py", "--timeout=5", "--no-tree", "--pids", "80", "--format", "json"])
    assert args == SubmitArgs("ex1", Path("a.py"), {"timeout_s": "5", "pids": "80"}, ())
    assert read(["-f", "b.py", "3"]) == SubmitArgs("3", Path("b.py"), {}, ())
    packs = read(["ex9", "--pack", "/tmp/p", "--pack=/tmp/q", "--pack", "/tmp/p"])
    assert packs is not None and packs.packs == (Path("/tmp/p").resolve(), Path("/tmp/q").resolve())


@pytest.mark.parametrize(
    "argv",
    [
        ["ex1", "--help"],
        ["ex1", "--verbose"],
        ["ex1", "ex2"],
        [],
        ["ex1", "--file"],
        ["ex1", "--file", "--timeout", "3"],
        ["ex1", "--file", "a.py", "-f", "b.py"],
        ["ex1", "--timeout", "3", "--timeout", "4"],
        ["ex1", "-ftree"],
    ],
    ids=str,
)
def test_anything_else_is_left_to_the_cli(argv: list[str]) -> None:
    assert read(argv) is None


SPECULATE = """
import sys, json
from pathlib import Path
from grader.early_args import speculate, adopt, _pending
from grader.settings import load
speculate(sys.argv[1:])
started = bool(_pending)
typer_loaded = "typer" in sys.modules
got = adopt("ex1", Path(sys.argv[3]), load(timeout_s={timeout}), ())
print(json.dumps({{"started": started, "typer": typer_loaded, "adopted": got is not None,
                  "outcome": got.run.outcome().main_pid is not None if got else None}}))
"""


def speculate_then_adopt(tmp_path: Path, program: str, adopt_timeout: float) -> dict[str, object]:
    import json

    code = SPECULATE.format(timeout=adopt_timeout)
    argv = ["ex1", "--file", program, "--timeout", "8"]
    res = subprocess.run(
        [sys.executable, "-c", code, *argv], cwd=ROOT, capture_output=True, text=True, timeout=120, env=os.environ
    )
    assert res.returncode == 0, res.stderr
    return dict(json.loads(res.stdout.splitlines()[-1]))


@pytest.mark.docker
def test_the_run_starts_before_the_cli_loads_and_the_same_submit_adopts_it(tmp_path: Path) -> None:
    seen = speculate_then_adopt(tmp_path, "solutions/ex1_fork.py", adopt_timeout=8)
    assert seen == {"started": True, "typer": False, "adopted": True, "outcome": True}


@pytest.mark.docker
def test_a_run_started_for_other_settings_is_stopped_not_adopted(tmp_path: Path) -> None:
    token = uuid.uuid4().hex
    program = tmp_path / "loop.py"
    program.write_text(f"# {token}\nwhile True:\n    pass\n")
    seen = speculate_then_adopt(tmp_path, str(program), adopt_timeout=9)  # the CLI parsed another timeout
    assert seen["started"] is True and seen["adopted"] is False
    assert not [src for src in running_sources() if token in src], "the unadopted run's container was left"


@pytest.mark.docker
def test_a_line_the_cli_refuses_leaves_no_run_behind(tmp_path: Path) -> None:
    """The reader takes `--format xml` (it does not judge output formats); the CLI refuses it: the run that had
    started is stopped at exit, its container removed, the program's 60 s never waited for."""
    token = uuid.uuid4().hex
    program = tmp_path / "loop.py"
    program.write_text(f"# {token}\nwhile True:\n    pass\n")
    t0 = time.monotonic()
    res = subprocess.run(
        [sys.executable, "-m", "grader", "submit", "ex1", "--file", str(program), "--format", "xml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "GRADE_TIMEOUT_S": "60"},
    )
    assert res.returncode == 2 and "xml" in res.stderr, res.stderr
    assert time.monotonic() - t0 < 25  # stopped, not left to its limit nor to the 30 s a thread is given
    assert not [src for src in running_sources() if token in src], "the refused line's run was left behind"


SIGTERM_WINDOW = """
import os, signal, threading, time
from grader.background import BackgroundRun
from grader.sandbox.base import RunRequest
from grader.settings import Settings

class Slow:
    name = "docker"
    def __init__(self):
        self.stop = threading.Event()
    def run(self, request):
        self.stop.wait(20)
    def stop_all(self):
        self.stop.set()
        return 1

box = Slow()
run = BackgroundRun(box, RunRequest(source=b"", settings=Settings()))
try:
    os.kill(os.getpid(), signal.SIGTERM)  # before the outcome is collected: the judge is still loading
    time.sleep(5)
    print("not interrupted")
except KeyboardInterrupt:
    run.cancel()
    print("interrupted", box.stop.is_set(), signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)
"""


def test_sigterm_while_the_judge_loads_stops_the_run() -> None:
    """From the run's start to its outcome, SIGTERM is an interrupt the main thread cleans up after, never a death
    that leaves the container running (the gap between a run started early and the CLI collecting it)."""
    res = subprocess.run([sys.executable, "-c", SIGTERM_WINDOW], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and res.stdout.split() == ["interrupted", "True", "True"], (res.returncode, res.stderr)
