"""Ready-made CI set-ups that `grade init-ci` writes: a GitHub Classroom workflow, a GitLab job, a Gradescope
bundle — each installing the grader from what it knows: the course's own wheels, or an explicit pip spec."""

from __future__ import annotations

import fcntl
import hashlib
import re
import shlex
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from grader.errors import GraderError

HERE = Path(__file__).resolve().parent
TARGETS = ("github", "gitlab", "gradescope")
# This project's distribution name on an index: `grade` there belongs to another project.
DISTRIBUTION = "grade-autograder"
# Where `init-ci github|gitlab` drops the wheels in the course repository, and the job's variable naming its root.
WHEELS = ".grade/wheels"
ROOT_VARIABLE = {"github": "GITHUB_WORKSPACE", "gitlab": "CI_PROJECT_DIR"}
# The interpreters the wheels are for: CPython on x86-64 Linux; 3.11 is the jobs' Python and Debian 12's and
# Ubuntu 22.04's python3.11, 3.12 is Ubuntu 24.04's python3.
PYTHONS = {"github": ("3.11",), "gitlab": ("3.11",), "gradescope": ("3.11", "3.12")}
PLATFORMS = ["manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64"]
# Names pip would fetch from an index for someone else's project (PyPI's `grade`).
NOT_OURS = re.compile(r"^\s*grade\s*(\[.*\])?\s*([=<>!~;@].*)?$", re.I)
NO_SPEC = (
    "cannot write an install line: this grader is not a source checkout to build its wheel from — "
    "pass --install with a wheel file, a git URL (git+https://…) or a folder"
)


def _fill(name: str, install: str) -> str:
    return (HERE / name).read_text().replace("{install}", install)


def _project() -> Path | None:
    root = HERE.parent.parent
    return root if (root / "pyproject.toml").is_file() else None


def _pip(*args: str) -> None:
    res = subprocess.run(
        [sys.executable, "-I", "-m", "pip", "--disable-pip-version-check", "-q", *args], capture_output=True, text=True
    )
    if res.returncode:
        tail = (res.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise GraderError(f"cannot collect the grader's wheels: {tail} — check pip's index, or pass --no-wheels")


def checked(spec: str) -> str:
    """An explicit --install spec, refused when it names PyPI's `grade` (another project) or spans lines."""
    if not spec.strip() or any(ch in spec for ch in "\r\n\0"):
        raise GraderError("--install must be one pip requirement on one line — a wheel file, a git URL or a folder")
    if NOT_OURS.match(spec):
        raise GraderError(
            f"--install {spec!r} would install PyPI's `grade`, another project — pass this grader's wheel file, "
            f"a git URL or a folder (its distribution is {DISTRIBUTION}, not published on an index)"
        )
    return spec


def grader_wheel(dest: Path, spec: str | None) -> Path:
    """The grader's own wheel in `dest`, built from `spec` or else from this source checkout."""
    source = spec or (str(_project()) if _project() is not None else None)
    if source is None:
        raise GraderError(NO_SPEC)
    dest.mkdir(parents=True, exist_ok=True)
    # pip builds a checkout in place (build/, *.egg-info): two builds of one checkout at once break each other
    lock = Path(tempfile.gettempdir()) / f"grade-wheel-{hashlib.sha256(source.encode()).hexdigest()[:12]}.lock"
    with lock.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        _pip("wheel", "--no-deps", "-w", str(dest), source)
    found = sorted(dest.glob("grade_autograder-*.whl"))
    if not found:
        raise GraderError(f"{source} built no {DISTRIBUTION} wheel — pass this grader's wheel, git URL or folder")
    return found[-1]


def wheels(dest: Path, *, spec: str | None = None, pythons: tuple[str, ...] = ("3.11",)) -> Path:
    """The grader's wheel and its dependencies' wheels for `pythons` on x86-64 Linux, from the index pip already
    uses; returns the grader's wheel."""
    own = grader_wheel(dest, spec)
    for version in pythons:
        platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
        _pip("download", "-d", str(dest), "--only-binary=:all:", "--implementation", "cp", "--python-version",
             version, *platforms, str(own))  # fmt: skip
    return own


def pack_wheel(dest: Path, pack: Path) -> tuple[Path, str]:
    """An exercise pack folder built into its wheel in `dest` (never its solutions/), and the wheel's sha256."""
    if not (pack / "pyproject.toml").is_file():
        raise GraderError(f"{pack} has no pyproject.toml, so it cannot be installed — `grade new` writes one in a pack")
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="grade-pack-wheel-") as tmp:
        _pip("wheel", "--no-deps", "-w", tmp, str(pack))
        built = sorted(Path(tmp).glob("*.whl"))
        if len(built) != 1:
            raise GraderError(f"{pack} built {len(built)} wheels, not one — check its pyproject.toml")
        wheel = dest / built[0].name
        wheel.write_bytes(built[0].read_bytes())
    return wheel, hashlib.sha256(wheel.read_bytes()).hexdigest()


def pinned(wheel: Path, digest: str, root: str) -> str:
    """pip's requirement for a pack's wheel by its exact file (its version) and digest: pip refuses the file
    if its sha256 differs, so a wheel swapped in the repository is not installed."""
    name = wheel.name.split("-")[0].replace("_", "-")
    return f'"{name} @ file://{root}/{wheel.name}#sha256={digest}"'


def gradescope_zip(out: Path, *, spec: str | None, bundle_wheels: bool = True, packs: tuple[Path, ...] = ()) -> Path:
    """setup.sh and run_autograder at the zip's root, wheels/ beside them; returns the zip's path."""
    zpath = out / "grade-autograder.zip"
    if packs and not bundle_wheels:
        raise GraderError("--pack for gradescope needs the bundled wheels — drop --no-wheels")
    with tempfile.TemporaryDirectory(prefix="grade-bundle-") as tmp:
        for pack in packs:  # unpacked beside the grader by setup.sh, as the exact wheel built here
            pack_wheel(Path(tmp), pack)
        if bundle_wheels:
            wheels(Path(tmp), spec=spec, pythons=PYTHONS["gradescope"])
            install = "''"  # the wheels branch of setup.sh runs; its pip line never does
        elif spec is not None:
            install = shlex.quote(spec)
        else:  # the course's own wheel in the bundle; its dependencies from the index at build time
            install = shlex.quote("./dist/" + grader_wheel(Path(tmp) / "dist", None).name)
        found = sorted(Path(tmp).rglob("*.whl"))
        with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as z:
            for name in ("setup.sh", "run_autograder"):
                info = zipfile.ZipInfo(name)
                info.external_attr = 0o100755 << 16  # executable once unzipped
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, _fill(f"gradescope/{name}", install))
            for w in found:
                z.write(w, w.relative_to(tmp).as_posix() if not bundle_wheels else f"wheels/{w.name}")
    return zpath


def _install_line(target: str, out: Path, *, spec: str | None, bundle_wheels: bool, packs: tuple[Path, ...]) -> str:
    """pip's arguments for a GitHub or GitLab job: the spec as given, or the wheels dropped into the repository
    (the grader's, and its dependencies' unless --no-wheels), installed by path without an index; then each
    pack's wheel, pinned by its file and digest."""
    folder = out / WHEELS
    if folder.exists():
        for old in folder.glob("*.whl"):
            old.unlink()
    root = f"${ROOT_VARIABLE[target]}/{WHEELS}"
    pins = "".join(" " + pinned(*pack_wheel(folder, pack), root) for pack in packs)
    if spec is not None:
        return shlex.quote(spec) + pins
    own = wheels(folder, pythons=PYTHONS[target]) if bundle_wheels else grader_wheel(folder, None)
    root = '"' + root
    index = f'--no-index --find-links {root}" ' if bundle_wheels else ""
    return f'{index}{root}/{own.name}"' + pins


def write(
    target: str, out: Path, *, install: str | None = None, bundle_wheels: bool = True, packs: tuple[Path, ...] = ()
) -> list[Path]:
    """Write the set-up for `target` under `out`; returns the files written."""
    spec = checked(install) if install is not None else None
    if target in ("github", "gitlab"):
        path = out / (".github/workflows/classroom.yml" if target == "github" else ".gitlab-ci.yml")
        path.parent.mkdir(parents=True, exist_ok=True)
        line = _install_line(target, out, spec=spec, bundle_wheels=bundle_wheels, packs=packs)
        path.write_text(_fill(f"{target}.yml" if target == "github" else "gitlab-ci.yml", line))
        return [path, out / WHEELS] if spec is None or packs else [path]
    if target == "gradescope":
        folder = out / "gradescope"
        folder.mkdir(parents=True, exist_ok=True)
        bundle = gradescope_zip(out, spec=spec, bundle_wheels=bundle_wheels, packs=packs)
        written = []
        with zipfile.ZipFile(bundle) as z:
            for name in ("setup.sh", "run_autograder"):
                (folder / name).write_bytes(z.read(name))
                (folder / name).chmod(0o755)
                written.append(folder / name)
        return [*written, bundle]
    raise GraderError(f"unknown CI target {target!r} — use {', '.join(TARGETS)}")
