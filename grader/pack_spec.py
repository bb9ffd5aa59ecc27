"""One exercise of a pack: its exercise.toml read and checked, its checks.py imported, its checks built.

Every mistake in a pack is one line naming the file (and the line, for Python) and what to change: an
author iterating on a pack never sees a traceback from the loader.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from grader.catalog import Exercise
from grader.checks import Check

if TYPE_CHECKING:
    from grader.packs import Pack

ID = r"^[a-z][a-z0-9_]*$"


class Manifest(BaseModel):
    """exercises/pack.toml"""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=ID)
    version: str = "0"
    title: str = ""


class Limits(BaseModel):
    """Limits an exercise may raise above the grader's settings (never lower)."""

    model_config = ConfigDict(extra="forbid")
    timeout_s: float | None = Field(None, gt=0, le=600)
    pids: int | None = Field(None, ge=8, le=4096)
    memory_mb: int | None = Field(None, ge=32, le=8192)
    output_bytes: int | None = Field(None, ge=1024)
    grace_s: float | None = Field(None, ge=0, le=60)


class CheckSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    id: str = Field(pattern=ID)
    title: str = Field(min_length=1)
    points: float = Field(gt=0)
    use: str | None = None  # a function of checks.py, else a ready check of grader.api.LIBRARY; default: id
    args: dict[str, Any] = Field(default_factory=dict, alias="with")
    tidy: bool = False


class Spec(BaseModel):
    """exercises/<id>/exercise.toml"""

    model_config = ConfigDict(extra="forbid")
    number: int = Field(ge=0)
    name: str = Field(pattern=ID)
    title: str = Field(min_length=1)
    needs_dns: bool = False
    limits: Limits = Limits()
    # a stub that runs as given to show the bug the exercise fixes (ex7's lost deposits) may earn what it does
    # right; it must fail these checks instead of scoring 0
    stub_fails: list[str] = Field(default_factory=list)
    checks: list[CheckSpec] = Field(default_factory=list)


def _invalid(path: Path, err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "(top level)"
    return f"{path}: {where}: {first['msg']} — fix it (see AUTHORING.md, exercise.toml)"


def read_manifest(path: Path) -> Manifest:
    from grader.packs import PackError, read_toml

    try:
        return Manifest.model_validate(read_toml(path))
    except ValidationError as err:
        raise PackError(_invalid(path, err)) from None


def read_spec(path: Path) -> Spec:
    from grader.packs import PackError, read_toml

    try:
        return Spec.model_validate(read_toml(path))
    except ValidationError as err:
        raise PackError(_invalid(path, err)) from None


def _where(err: BaseException, path: Path) -> str:
    """`path line N` of the deepest frame in the pack's file, for an exception raised while importing it."""
    if isinstance(err, SyntaxError) and err.lineno is not None:
        return f"{err.filename or path} line {err.lineno}"
    frames = [f for f in traceback.extract_tb(err.__traceback__) if Path(f.filename) == path]
    return f"{path} line {frames[-1].lineno}" if frames else str(path)


def import_checks(pack: Pack, folder: Path) -> ModuleType | None:
    """The exercise's checks.py as a module of its own (grade_packs.<pack>.<id>), or None when it has none."""
    from grader.packs import CHECKS, PackError

    path = folder / CHECKS
    if not path.is_file():
        return None
    name = f"grade_packs.{pack.name}.{folder.name}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise PackError(f"{path}: cannot be imported as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    try:
        spec.loader.exec_module(module)
    except Exception as err:  # noqa: BLE001 — whatever a pack's code raises is the pack's error, in one line
        del sys.modules[name]
        why = f"{type(err).__name__}: {err.msg if isinstance(err, SyntaxError) else err}"
        raise PackError(f"{_where(err, path)}: {why} — the pack's checks cannot be imported") from None
    return module


def _judge_of(spec: CheckSpec, module: ModuleType | None, where: Path) -> Any:
    from grader.api import LIBRARY
    from grader.packs import PackError

    use = spec.use or spec.id
    fn = getattr(module, use, None) if module is not None else None
    if fn is None and use in LIBRARY:
        try:
            fn = LIBRARY[use](**spec.args)
        except TypeError as err:
            raise PackError(f"{where}: check {spec.id}: {use} {err} — fix its `with` table") from None
    elif fn is not None and spec.args:
        try:
            fn = fn(**spec.args)
        except TypeError as err:
            raise PackError(f"{where}: check {spec.id}: {use}() {err} — fix its `with` table") from None
    if fn is None:
        raise PackError(
            f"{where}: check {spec.id} uses {use!r}, which neither checks.py nor the library "
            f"({', '.join(LIBRARY)}) defines — define it in checks.py"
        )
    if not callable(fn):
        raise PackError(f"{where}: check {spec.id} uses {use!r}, which is a {type(fn).__name__}, not a function")
    return fn


def _number(points: float) -> float:
    """2.0 as 2: reports print points as the author wrote them."""
    return int(points) if points.is_integer() else points


def _checks(spec: Spec, module: ModuleType | None, where: Path) -> tuple[Check, ...]:
    from grader.packs import PackError

    declared = getattr(module, "CHECKS", None) if module is not None else None
    if declared is not None and spec.checks:
        raise PackError(f"{where}: checks are listed both here and as CHECKS in checks.py — keep one list")
    if declared is not None:
        if not isinstance(declared, tuple | list) or not all(isinstance(c, Check) for c in declared):
            raise PackError(f"{where.parent / 'checks.py'}: CHECKS must be a tuple of grader.api.Check")
        checks = tuple(declared)
    else:
        checks = tuple(
            Check(c.id, c.title, _number(c.points), _judge_of(c, module, where), tidy=c.tidy) for c in spec.checks
        )
    if not checks:
        raise PackError(f"{where}: the exercise has no checks — add [[checks]] tables")
    _validate(checks, where)
    return checks


def _stub_fails(spec: Spec, checks: tuple[Check, ...], where: Path) -> tuple[str, ...]:
    from grader.packs import PackError

    ids = {c.id for c in checks}
    if unknown := [i for i in spec.stub_fails if i not in ids]:
        raise PackError(f"{where}: stub_fails names {unknown[0]!r}, which is no check of this exercise")
    return tuple(spec.stub_fails)


def _validate(checks: tuple[Check, ...], where: Path) -> None:
    from grader.packs import PackError

    ids = [c.id for c in checks]
    if dupes := sorted({i for i in ids if ids.count(i) > 1}):
        raise PackError(f"{where}: check id {dupes[0]} is used twice — give each check its own id")
    for c in checks:
        if not isinstance(c.points, int | float) or isinstance(c.points, bool) or c.points <= 0:
            raise PackError(f"{where}: check {c.id}: points must be a number above 0, not {c.points!r}")
        if not callable(c.fn):
            raise PackError(f"{where}: check {c.id}: its function is a {type(c.fn).__name__}, not a function")


def digest(folder: Path) -> str:
    """What decides this exercise's verdicts: exercise.toml and its Python (checks.py, helpers), not the
    statement, the stub or the examples."""
    h = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        judging = path.name == "exercise.toml" or (
            path.suffix == ".py" and path.name != "solution.py" and not path.name.startswith(("pass__", "fail__"))
        )
        if judging and path.is_file():
            h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:10]


def load_exercise(pack: Pack, folder: Path) -> Exercise:
    from grader.packs import SPEC, PackError

    where = folder / SPEC
    if not (folder.name[:1].isalpha() and folder.name.replace("_", "").isalnum() and folder.name.isascii()):
        raise PackError(f"{folder}: an exercise's folder name is its id: letters, digits and _ only")
    spec = read_spec(where)
    module = import_checks(pack, folder)
    return Exercise(
        id=folder.name,
        number=spec.number,
        name=spec.name,
        title=spec.title,
        checks=(checks := _checks(spec, module, where)),
        needs_dns=spec.needs_dns,
        stub_fails=_stub_fails(spec, checks, where),
        pack=pack.name,
        home=folder,
        limits={k: v for k, v in spec.limits.model_dump().items() if v is not None},
        digest=digest(folder),
        module=module,
    )
