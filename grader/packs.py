"""Exercise packs: where they are found, and how a pack's folder becomes exercises.

A pack is a folder laid out like a course repository: `exercises/pack.toml` names it, each
`exercises/<id>/` holds one exercise (exercise.toml, README.md, solution.py, an optional checks.py, and
pass__/fail__ examples), and `solutions/<id>.py` holds the references, which never ship with the pack.
Packs are found, in this order: installed ones (the `grade.packs` entry point group, naming the package
whose folder holds pack.toml), the folders of GRADE_PACKS (separated by the path separator), then the
folders given with --pack. The engine has no other source of exercises and no special case for any pack.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from grader.catalog import Exercise
from grader.errors import GraderError

ENTRY_POINTS = "grade.packs"
MANIFEST = "pack.toml"
SPEC = "exercise.toml"
CHECKS = "checks.py"


class PackError(GraderError):
    """A pack that cannot be used: the message names the file (and line) and what to change."""


@dataclass(frozen=True)
class Pack:
    name: str
    version: str
    exercises_dir: Path  # the pack's exercises/ folder, holding pack.toml
    origin: str  # how it was found: "installed", "GRADE_PACKS" or "--pack"

    @property
    def solutions(self) -> Path:
        """The references' folder, beside exercises/ (absent from an installed pack)."""
        return self.exercises_dir.parent / "solutions"

    def label(self) -> str:
        return f"{self.name} {self.version}"


def _manifest_dir(path: Path) -> Path | None:
    for folder in (path / "exercises", path):
        if (folder / MANIFEST).is_file():
            return folder
    return None


def pack_at(path: Path, origin: str) -> Pack:
    """The pack in folder `path` (its root, or its exercises/ folder)."""
    folder = _manifest_dir(path)
    if folder is None:
        raise PackError(
            f"no exercise pack at {path} (from {origin}): it needs exercises/{MANIFEST} — "
            f"`grade new ID --pack {path}` makes one"
        )
    from grader.pack_spec import read_manifest

    manifest = read_manifest(folder / MANIFEST)
    return Pack(manifest.name, manifest.version, folder.resolve(), origin)


def installed() -> list[Pack]:
    """The packs installed packages declare in the `grade.packs` entry point group."""
    return [pack_at(where, f"installed entry point {name}") for name, where in _installed_folders()]


def _installed_folders() -> list[tuple[str, Path]]:
    import importlib
    from importlib import metadata  # here: it takes longer to import than grade submit's early start may wait

    found = []
    for ep in metadata.entry_points(group=ENTRY_POINTS):
        name = ep.value.split(":")[0]
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name == name:  # metadata left without its package (a source tree's egg-info): nothing installed
                continue
            raise PackError(f"the installed pack {ep.name} ({ep.value}) cannot be imported: {err}") from None
        except ImportError as err:
            raise PackError(f"the installed pack {ep.name} ({ep.value}) cannot be imported: {err}") from None
        where = list(getattr(module, "__path__", []))
        if not where:
            raise PackError(f"the installed pack {ep.name} ({ep.value}) is a module, not a package folder")
        found.append((ep.name, Path(where[0])))
    return found


def _raw_installed_folders() -> list[Path]:
    """The installed packs' folders, from each distribution's entry_points.txt read raw and the package found
    without importing it: importlib.metadata takes longer to import than a container to be created. A guess
    only, for exercise_dirs: find() reads the entry points properly."""
    import importlib.util

    found = []
    for module in _raw_entry_point_modules(ENTRY_POINTS):
        with contextlib.suppress(ImportError, ValueError):
            spec = importlib.util.find_spec(module)
            if spec is not None and spec.submodule_search_locations:
                found.append(Path(next(iter(spec.submodule_search_locations))))
    return found


def _raw_entry_point_modules(group: str) -> list[str]:
    """The modules named by the entry points of `group` in the *.dist-info and *.egg-info folders on sys.path."""
    modules = []
    for place in sys.path:
        with contextlib.suppress(OSError):
            for entry in os.scandir(place or "."):
                if entry.name.endswith((".dist-info", ".egg-info")):
                    modules += _group_modules(Path(entry.path) / "entry_points.txt", group)
    return list(dict.fromkeys(modules))


def _group_modules(path: Path, group: str) -> list[str]:
    """The module of each `name = module[:attr]` line in section [group] of an entry_points.txt."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    section, modules = "", []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line.strip("[]").strip()
        elif section == group and "=" in line:
            modules.append(line.partition("=")[2].split(":")[0].strip())
    return modules


def exercise_dirs(extra: tuple[Path, ...] = ()) -> list[Path]:
    """The exercises/ folders of the packs find() finds, without reading a manifest: what `grade submit`
    reads before the container starts (grader/early_start.py); find() checks them later."""
    places = _raw_installed_folders() + from_env() + list(extra)
    folders = [folder.resolve() for p in places if (folder := _manifest_dir(p)) is not None]
    return list(dict.fromkeys(folders))


def from_env() -> list[Path]:
    value = os.environ.get("GRADE_PACKS", "")
    return [Path(p).expanduser() for p in value.split(os.pathsep) if p.strip()]


def find(extra: tuple[Path, ...] = (), *, env: bool = True) -> list[Pack]:
    """Every pack found, each once (one folder found twice, installed and on GRADE_PACKS, is one pack)."""
    packs = installed()
    packs += [pack_at(p, "GRADE_PACKS") for p in (from_env() if env else [])]
    packs += [pack_at(p, "--pack") for p in extra]
    seen: dict[Path, Pack] = {}
    for pack in packs:
        seen.setdefault(pack.exercises_dir, pack)
    return list(seen.values())


def exercises(extra: tuple[Path, ...] = ()) -> dict[str, Exercise]:
    return _exercises(extra, os.environ.get("GRADE_PACKS", ""))


@cache
def _exercises(extra: tuple[Path, ...], env: str) -> dict[str, Exercise]:
    from grader.pack_spec import load_exercise

    found: dict[str, Exercise] = {}
    for pack in find(extra):
        for folder in sorted(p for p in pack.exercises_dir.iterdir() if (p / SPEC).is_file()):
            ex = load_exercise(pack, folder)
            if (other := found.get(ex.id)) is not None:
                raise PackError(
                    f"two exercises with the id {ex.id}: {other.home} (pack {other.pack}) and {ex.home} "
                    f"(pack {ex.pack}) — rename one of the folders"
                )
            found[ex.id] = ex
    return dict(sorted(found.items(), key=lambda kv: (kv[1].number, kv[0])))


def pack_of(ex: Exercise, extra: tuple[Path, ...] = ()) -> Pack | None:
    """The pack an exercise came from."""
    return next((p for p in find(extra) if ex.home is not None and ex.home.parent == p.exercises_dir), None)


def read_toml(path: Path) -> dict[str, object]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise PackError(f"{path}: {err} — fix the TOML") from None
    except (OSError, UnicodeDecodeError) as err:
        raise PackError(f"cannot read {path}: {err}") from None
