"""Ready-made CI set-ups that `grade init-ci` writes: a GitHub workflow, a GitLab job, a Gradescope bundle."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from grader import __version__
from grader.errors import GraderError

HERE = Path(__file__).resolve().parent
TARGETS = ("github", "gitlab", "gradescope")
# What the bundle's setup.sh unpacks: the runtime dependencies, as wheels for CPython 3.11 on x86-64 Linux.
WHEEL_TARGET = [
    "--only-binary=:all:",
    "--python-version",
    "3.11",
    "--implementation",
    "cp",
    "--platform",
    "manylinux2014_x86_64",
    "--platform",
    "manylinux_2_28_x86_64",
]


def _fill(name: str, install: str) -> str:
    return (HERE / name).read_text().replace("{install}", install)


def _project() -> Path | None:
    root = HERE.parent.parent
    return root if (root / "pyproject.toml").is_file() else None


def dependencies() -> list[str]:
    from importlib.metadata import requires

    return [r.split(";")[0].strip() for r in requires("grade") or [] if "extra ==" not in r]


def wheels(dest: Path) -> list[Path]:
    """The grader's wheel and its dependencies' wheels, from the package index pip already uses."""
    dest.mkdir(parents=True, exist_ok=True)
    project = _project()
    if project is None:
        raise GraderError("no grader source tree to build a wheel from — run init-ci from a `pip install -e` checkout")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    steps = [
        [*pip, "wheel", "--no-deps", "-w", str(dest), str(project)],
        [*pip, "download", "-d", str(dest), *WHEEL_TARGET, *dependencies()],
    ]
    for cmd in steps:
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode:
            tail = (res.stderr.strip().splitlines() or ["pip failed"])[-1]
            raise GraderError(f"cannot collect the grader's wheels: {tail} — check pip's index, or pass --no-wheels")
    return sorted(dest.glob("*.whl"))


def gradescope_zip(out: Path, *, install: str, bundle_wheels: bool = True) -> Path:
    """setup.sh and run_autograder at the zip's root, wheels/ beside them; returns the zip's path."""
    zpath = out / "grade-autograder.zip"
    with tempfile.TemporaryDirectory(prefix="grade-bundle-") as tmp:
        found = wheels(Path(tmp)) if bundle_wheels else []
        with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as z:
            for name in ("setup.sh", "run_autograder"):
                info = zipfile.ZipInfo(name)
                info.external_attr = 0o100755 << 16  # executable once unzipped
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, _fill(f"gradescope/{name}", install))
            for w in found:
                z.write(w, f"wheels/{w.name}")
    return zpath


def write(target: str, out: Path, *, install: str | None = None, bundle_wheels: bool = True) -> list[Path]:
    """Write the set-up for `target` under `out`; returns the files written."""
    spec = install or f"grade=={__version__}"
    if target == "github":
        path = out / ".github" / "workflows" / "grade.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_fill("github.yml", spec))
        return [path]
    if target == "gitlab":
        path = out / ".gitlab-ci.yml"
        out.mkdir(parents=True, exist_ok=True)
        path.write_text(_fill("gitlab-ci.yml", spec))
        return [path]
    if target == "gradescope":
        folder = out / "gradescope"
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for name in ("setup.sh", "run_autograder"):
            (folder / name).write_text(_fill(f"gradescope/{name}", spec))
            (folder / name).chmod(0o755)
            written.append(folder / name)
        return [*written, gradescope_zip(out, install=spec, bundle_wheels=bundle_wheels)]
    raise GraderError(f"unknown CI target {target!r} — use {', '.join(TARGETS)}")
