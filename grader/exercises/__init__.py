"""The exercise registry: every module here named exN_<name> defines EXERCISE; ALL is in course order."""

from __future__ import annotations

import importlib
import pkgutil

from grader.catalog import Exercise


def _discover() -> tuple[Exercise, ...]:
    found = []
    for mod in pkgutil.iter_modules(__path__):
        if mod.name.startswith("ex"):
            found.append(importlib.import_module(f"{__name__}.{mod.name}").EXERCISE)
    return tuple(sorted(found, key=lambda e: e.number))


ALL = _discover()
