"""The runtime image's tag, from its sources alone: on every run's path, so it imports nothing heavy."""

from __future__ import annotations

import hashlib
from pathlib import Path

HERE = Path(__file__).parent
CONTEXT_FILES = (
    "Dockerfile",
    "entrypoint.py",
    "policy.py",
    "as_student.py",
    "dnsmasq.conf",
    "site/sitecustomize.py",
    "site/grade_threads.py",
)


def image_tag() -> str:
    """The tag names the image's sources, so an up-to-date image is found by name alone."""
    digest = hashlib.sha256()
    for name in CONTEXT_FILES:
        digest.update(name.encode() + b"\0" + (HERE / name).read_bytes())
    return f"grade-runtime:{digest.hexdigest()[:12]}"
