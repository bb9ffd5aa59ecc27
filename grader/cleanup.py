"""What a grader killed outright leaves behind besides containers: its temporary folders."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from grader import archives
from grader.sandbox import none

PREFIXES = (none.TEMP_PREFIX, archives.TEMP_PREFIX)  # one run's scratch, a batch's unzipped files
STALE_S = 3600.0  # far longer than any run or unzip lives: an older folder has no grader left to remove it


def stale_folders(*, older_than_s: float = STALE_S, root: Path | None = None) -> list[Path]:
    root = root or Path(tempfile.gettempdir())
    cutoff = time.time() - older_than_s
    found = []
    for path in root.iterdir():
        if not path.name.startswith(PREFIXES) or path.is_symlink():
            continue
        try:
            if path.is_dir() and path.stat().st_mtime < cutoff:
                found.append(path)
        except OSError:  # removed meanwhile by the grader that made it
            continue
    return sorted(found)


def remove_stale_folders(*, older_than_s: float = STALE_S, root: Path | None = None) -> int:
    gone = 0
    for path in stale_folders(older_than_s=older_than_s, root=root):
        shutil.rmtree(path, ignore_errors=True)
        gone += not path.exists()
    return gone
