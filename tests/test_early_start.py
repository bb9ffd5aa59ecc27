"""`grade submit` starts the container from an exercise's raw exercise.toml, before the packs load: the raw read
must place a name exactly as resolve() does, raise the same limits, start nothing for a name it cannot place,
and a run whose exercise then fails to load is stopped, its container removed, the error one line."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.catalog import _EXTRA, registry, resolve, use_packs
from grader.early_start import RunNeeds, graded_file, peek
from grader.sandbox.base import RunOutcome, RunRequest
from grader.settings import Settings

from .conftest import ROOT

NAMES = ["ex1", "1", "fork", "ex1_fork", "EX3", "pool.py", " ex4 ", "queue", "ex5_queue"]


def a_pack(tmp_path: Path, name: str = "mine") -> Path:
    (tmp_path / "exercises").mkdir(parents=True)
    (tmp_path / "exercises" / "pack.toml").write_text(f'name = "{name}"\n')
    shutil.copytree(ROOT / "exercises" / "ex1_fork", tmp_path / "exercises" / "ex42_slow")
    spec = tmp_path / "exercises" / "ex42_slow" / "exercise.toml"
    text = spec.read_text().replace("number = 1", "number = 42").replace('name = "fork"', 'name = "slow"')
    spec.write_text(text.replace("[[checks]]", "needs_dns = true\n\n[limits]\ntimeout_s = 42\n\n[[checks]]", 1))
    return tmp_path


@contextlib.contextmanager
def extra_pack(pack: Path) -> Iterator[None]:
    """`--pack PACK` for the length of the block."""
    use_packs([pack])
    try:
        yield
    finally:
        _EXTRA.remove(pack)


@pytest.mark.parametrize("name", NAMES)
def test_the_raw_read_places_a_name_as_resolve_does(name: str) -> None:
    assert peek(name, ()) == RunNeeds.of(resolve(name))


@pytest.mark.parametrize("name", ["ex42", "nothing", "", "ex"])
def test_a_name_the_raw_read_cannot_place_starts_nothing_early(name: str) -> None:
    assert peek(name, ()) is None


def test_the_raw_read_sees_dns_and_raised_limits_as_the_loaded_exercise(tmp_path: Path) -> None:
    pack = a_pack(tmp_path)
    needs = peek("slow", (pack,))
    assert needs == RunNeeds("ex42_slow", True, {"timeout_s": 42})
    with extra_pack(pack):
        assert RunNeeds.of(registry()["ex42_slow"]) == needs


class Recording:
    """A sandbox that records the request it was given and returns an empty outcome."""

    name = "docker"

    def __init__(self) -> None:
        self.requests: list[RunRequest] = []
        self.stopped = 0

    def run(self, request: RunRequest) -> RunOutcome:
        self.requests.append(request)
        return RunOutcome(infra_error="recorded, not run")

    def stop_all(self) -> int:
        self.stopped += 1
        return 0


def test_the_early_run_carries_the_exercises_raised_limits_and_dns(tmp_path: Path) -> None:
    pack = a_pack(tmp_path)
    box = Recording()
    with extra_pack(pack):
        report, _ = graded_file("ex42", ROOT / "solutions" / "ex1_fork.py", Settings(), lambda s: box, (pack,))
    (request,) = box.requests
    assert request.dns is True and request.settings.timeout_s == 42
    assert report.exercise == "ex42_slow" and report.status == "error" and box.stopped == 0


def test_a_file_that_cannot_run_starts_no_run(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def (:\n")
    box = Recording()
    report, _ = graded_file("ex1", bad, Settings(), lambda s: box, ())
    assert not box.requests and report.status == "failed" and "syntax error" in (report.reason or "")


@pytest.mark.docker
def test_a_pack_that_fails_to_load_stops_the_early_run(tmp_path: Path) -> None:
    """The container starts from the raw read; the checks then fail to import: one line, no container left."""
    pack = a_pack(tmp_path)
    (pack / "exercises" / "ex42_slow" / "checks.py").write_text("import nothing_such_module\n")
    token = uuid.uuid4().hex
    program = tmp_path / "loop.py"
    program.write_text(f"# {token}\nwhile True:\n    pass\n")
    t0 = time.monotonic()
    res = subprocess.run(
        [sys.executable, "-m", "grader", "submit", "ex42", "--pack", str(pack), "--file", str(program)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "GRADE_TIMEOUT_S": "60"},
    )
    took = time.monotonic() - t0
    assert res.returncode == 2, (res.stdout, res.stderr)
    # stopped, not left to its 60 s limit (nor to the 30 s a thread is given to end)
    assert took < 25, f"the early run was not stopped: the command took {took:.1f}s"
    assert "checks.py line 1" in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert not [src for src in running_sources() if token in src], "the stopped run's container was left behind"


def running_sources() -> list[str]:
    """The submitted source of every grade container on the engine (other tests' runs included)."""
    ps = subprocess.run(["docker", "ps", "-aq", "--filter", "label=grade.run"], capture_output=True, text=True)
    sources = []
    for cid in ps.stdout.split():
        out = subprocess.run(["docker", "inspect", "-f", "{{json .Config.Env}}", cid], capture_output=True, text=True)
        for item in json.loads(out.stdout.strip() or "[]"):
            if item.startswith("GRADE_CONFIG="):
                with contextlib.suppress(ValueError, TypeError, KeyError, zlib.error):  # removed meanwhile, other runs
                    policy = json.loads(item.split("=", 1)[1])
                    sources.append(zlib.decompress(base64.b64decode(policy["source_z"])).decode())
    return sources


def test_the_raw_read_finds_the_installed_packs_as_the_entry_points_do() -> None:
    from grader.packs import _installed_folders, _raw_installed_folders

    assert {p.resolve() for p in _raw_installed_folders()} == {p.resolve() for _, p in _installed_folders()}


@pytest.mark.docker
def test_the_early_start_imports_nothing_slow_before_the_container_is_created() -> None:
    """What stands between the command and the container's create call: no HTTP or TLS library, no entry-point
    metadata, no CLI or validation library (each costs more to import than the create call takes)."""
    probe = (
        "import sys\n"
        "from grader.early_args import _pending, speculate\n"
        f"speculate(['ex1', '--file', {str(ROOT / 'solutions' / 'ex1_fork.py')!r}])\n"
        "assert _pending, 'no run was started'\n"
        "slow = ('ssl', 'http.client', 'importlib.metadata', 'typer', 'pydantic', 'docker', 'rich')\n"
        "print(sorted(m for m in slow if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=ROOT, check=False
    )
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stdout + done.stderr
