"""Build the runtime image: from a registry base, or from Debian's archive with debootstrap."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from grader.errors import ImageError
from grader.image.tag import CONTEXT_FILES, HERE, image_tag  # noqa: F401 — CONTEXT_FILES: build's own name too

if TYPE_CHECKING:  # the SDK is imported where an image is built: `image_tag` is on every run's path
    import docker

REGISTRY_BASE = "python:3.11-slim-bookworm"
BOOTSTRAP_BASE = "grade-base:bookworm"
PACKAGES = "python3,strace,bind9-dnsutils,dnsmasq-base"
Progress = Callable[[str], None]


def apt_mirror(sources: Path = Path("/etc/apt")) -> str:
    """The Debian mirror this machine already uses, read from its apt sources (one-line or deb822)."""
    files = [sources / "sources.list", *sorted((sources / "sources.list.d").glob("*"))]
    for path in files:
        try:
            text = path.read_text()
        except OSError:
            continue
        for m in re.finditer(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s", text, re.M):
            return m.group(1)
        for stanza in re.split(r"\n\s*\n", text):
            uris = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
            suites = re.search(r"^Suites:\s*(.*)$", stanza, re.M)
            if uris and suites and "bookworm" in suites.group(1).split():
                return uris.group(1)
    raise ImageError(
        "no Debian bookworm mirror in /etc/apt sources — add one, or build from a registry without --bootstrap"
    )


def _exists(client: docker.DockerClient, tag: str) -> bool:
    import docker.errors

    try:
        client.images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


def bootstrap_base(client: docker.DockerClient, progress: Progress) -> None:
    """debootstrap a minimal bookworm with the tools, and import it as BOOTSTRAP_BASE."""
    if shutil.which("debootstrap") is None:
        raise ImageError("debootstrap is not installed — `apt-get install debootstrap`, then retry")
    if os.geteuid() != 0:
        raise ImageError("--bootstrap needs root (debootstrap builds a root file system) — run it with sudo")
    mirror = apt_mirror()
    with tempfile.TemporaryDirectory(prefix="grade-rootfs-") as tmp:
        root = Path(tmp) / "rootfs"
        progress(f"debootstrap bookworm ({PACKAGES}) — about a minute")
        cmd = ["debootstrap", "--variant=minbase", f"--include={PACKAGES}", "bookworm", str(root), mirror]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode:
            raise ImageError(f"debootstrap failed: {(res.stdout + res.stderr).strip().splitlines()[-1:]}")
        progress(f"importing the root file system as {BOOTSTRAP_BASE}")
        tar = Path(tmp) / "rootfs.tar"
        subprocess.run(["tar", "-C", str(root), "-cf", str(tar), "."], check=True)
        repo, tag = BOOTSTRAP_BASE.split(":")
        client.api.import_image_from_file(str(tar), repository=repo, tag=tag)


def ensure_image(
    client: docker.DockerClient, *, bootstrap: bool | None = None, force: bool = False, progress: Progress = print
) -> str:
    """Return the runtime image tag, building it first if it is missing (or `force`).

    bootstrap=None picks for you: an existing bootstrapped base, else the registry, else debootstrap.
    """
    import docker.errors

    tag = image_tag()
    if not force and _exists(client, tag):
        return tag
    base = REGISTRY_BASE
    if bootstrap or (bootstrap is None and _exists(client, BOOTSTRAP_BASE)):
        base = BOOTSTRAP_BASE
        if force or not _exists(client, BOOTSTRAP_BASE):
            bootstrap_base(client, progress)
    elif not _exists(client, REGISTRY_BASE):
        progress(f"pulling {REGISTRY_BASE}")
        try:
            client.images.pull(REGISTRY_BASE)
        except docker.errors.APIError as err:
            if bootstrap is False:
                raise ImageError(
                    f"cannot pull {REGISTRY_BASE} ({err.explanation}) — try `grade image build --bootstrap`"
                ) from err
            progress("no image registry answers; building the base from Debian's archive instead")
            base = BOOTSTRAP_BASE
            bootstrap_base(client, progress)
    progress(f"building {tag} on {base}")
    try:
        client.images.build(
            path=str(HERE), tag=tag, buildargs={"BASE": base}, rm=True, forcerm=True, labels={"grade": "runtime"}
        )
    except (docker.errors.BuildError, docker.errors.APIError) as err:
        raise ImageError(f"building {tag} failed: {err} — see `grade doctor`") from err
    _remove_stale(client, keep=tag)
    return tag


def _younger_than_a_day(created: str) -> bool:
    """Whether an image's `Created` time (RFC 3339, nanoseconds) lies within the last 24 hours."""
    try:
        when = datetime.fromisoformat(created[:19]).replace(tzinfo=UTC)
    except ValueError:
        return False
    return datetime.now(UTC) - when < timedelta(days=1)


def _remove_stale(client: docker.DockerClient, *, keep: str) -> None:
    """Drop runtime images of older sources: each is a few hundred MB and no grader of this version uses it.

    Images built in the last day are kept: another checkout's grader (a CI clone, a second branch) may be
    about to start a container from one, and removing it would fail that run as an infrastructure error.
    """
    import docker.errors

    for img in client.images.list(filters={"label": "grade=runtime"}):
        if keep not in img.tags and not _younger_than_a_day(img.attrs.get("Created", "")):
            # in use by a running container, or by another grader version: leave it
            with contextlib.suppress(docker.errors.APIError):
                client.images.remove(img.id)
