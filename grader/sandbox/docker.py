"""The Docker sandbox: one fresh, locked-down container per run, always removed."""

from __future__ import annotations

import atexit
import base64
import contextlib
import dataclasses
import os
import random
import signal
import threading
import time
import uuid
import zlib
from collections.abc import Iterator
from typing import Any, ClassVar

import docker
import docker.errors
import requests.exceptions

from grader.errors import EngineUnavailable, ImageError, SubmissionError
from grader.image.build import ensure_image
from grader.image.seccomp import profile_json
from grader.sandbox.base import IMAGE_UIDS, RunOutcome, RunRequest, entrypoint_policy
from grader.settings import Settings

LABEL = "grade.run"
ENGINE_HINT = "is dockerd running? start it with `sudo systemctl start docker` (or `dockerd &`)"
_live: set[str] = set()
_live_lock = threading.Lock()
_uids_taken: set[int] = set()  # student uids of this process's runs in progress


def uids_in_use() -> set[int]:
    """Owners of this host's processes: where the engine runs on this kernel, the uids other runs hold."""
    found = set()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                found.add(entry.stat().st_uid)
    return found


def take_uid() -> int:
    """A student uid for one run: none another run of this grader holds, none a process on this host has
    (another grader's runs), from a random start so graders started together spread out. If every uid of
    the pool is busy, runs share one, as before there was a pool."""
    busy = uids_in_use()
    with _live_lock:
        start = random.randrange(len(IMAGE_UIDS))
        order = [IMAGE_UIDS[(start + i) % len(IMAGE_UIDS)] for i in range(len(IMAGE_UIDS))]
        uid = next((u for u in order if u not in _uids_taken and u not in busy), order[0])
        _uids_taken.add(uid)
        return uid


def give_uid(uid: int) -> None:
    with _live_lock:
        _uids_taken.discard(uid)


def connect(timeout: float = 60, *, pool_size: int = 10) -> docker.DockerClient:
    try:
        # one pooled connection per concurrent run (batch --jobs), or runs queue for a connection
        client = docker.from_env(timeout=int(timeout), max_pool_size=pool_size)
        client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException) as err:
        raise EngineUnavailable(f"cannot reach the Docker engine — {engine_hint(err)}") from err
    return client


def engine_hint(err: BaseException) -> str:
    """What to do, from why the engine did not answer: a socket the user may not open is not a stopped engine."""
    seen: list[str] = []
    cause: BaseException | None = err
    while cause is not None and len(seen) < 10:
        seen.append(f"{type(cause).__name__}: {cause}")
        cause = cause.__cause__ or cause.__context__
    text = " ".join(seen)
    if "Permission denied" in text or "PermissionError" in text:
        return (
            "permission denied on its socket: add yourself to the docker group "
            "(`sudo usermod -aG docker $USER`, then log in again) or run as root"
        )
    return ENGINE_HINT


def remove_strays(client: docker.DockerClient) -> int:
    """Remove containers left by a grader that was killed outright; returns how many."""
    strays = client.containers.list(all=True, filters={"label": LABEL})
    for c in strays:
        with contextlib.suppress(docker.errors.APIError):
            c.remove(force=True, v=True)
    return len(strays)


class DockerSandbox:
    name = "docker"
    # policy fields laid over the request's (checked as any policy is): tests turn one layer off to prove the
    # other holds
    config_overrides: ClassVar[dict[str, Any]] = {}

    def __init__(self, settings: Settings, *, progress: Any = None, pool_size: int = 10) -> None:
        self.settings = settings
        self.client = connect(pool_size=pool_size)
        self.image = settings.image or ensure_image(self.client, progress=progress or (lambda msg: None))
        self._profile = profile_json()
        self.last_container: str | None = None  # id of the latest run's container, for tests and tools

    def stop_all(self) -> int:
        """Remove the containers this process is running now (a batch's Ctrl-C); their runs end at once."""
        with _live_lock:
            ids = list(_live)
        for cid in ids:
            with contextlib.suppress(docker.errors.APIError, requests.exceptions.RequestException):
                self.client.api.remove_container(cid, force=True, v=True)
        return len(ids)

    def _create(self, request: RunRequest, uid: int) -> Any:
        s = request.settings
        if len(request.source) > s.source_bytes:  # precheck refuses it first; a direct caller is refused here
            size = len(request.source)
            raise SubmissionError(
                f"the submission is {size} bytes; the limit is {s.source_bytes} — is it the right file?"
            )
        policy = entrypoint_policy(
            request,
            script="/submission/solution.py",
            rundir="/run/grade",
            workdir="/tmp",
            source_z=base64.b64encode(zlib.compress(request.source)).decode(),
            user="student",  # every uid of the image's pool is named so (see the Dockerfile)
            uid=uid,
            python=None,  # the image's python3
            rlimits=s.rlimits(),
        )
        policy = dataclasses.replace(policy, **self.config_overrides)
        return self.client.containers.create(
            self.image,
            environment={"GRADE_CONFIG": policy.to_json()},
            labels={LABEL: uuid.uuid4().hex, "grade": "1"},
            network_mode="none",
            pids_limit=s.pids,
            mem_limit=f"{s.memory_mb}m",
            memswap_limit=f"{s.memory_mb}m",
            nano_cpus=int(s.cpus * 1e9),
            read_only=True,
            tmpfs={
                "/tmp": f"rw,nosuid,nodev,size={s.tmpfs_mb}m,nr_inodes={s.tmpfs_inodes},mode=1777",
                "/run/grade": f"rw,nosuid,nodev,noexec,size={(s.trace_bytes >> 20) + 8}m,mode=0700",
                "/submission": "rw,nosuid,nodev,noexec,size=1m,mode=0755",
            },
            shm_size="16m",
            cap_drop=["ALL"],
            cap_add=["SETUID", "SETGID"],  # the launcher becomes the student; nothing else
            security_opt=["no-new-privileges", f"seccomp={self._profile}"],
            sysctls={"net.ipv4.ip_unprivileged_port_start": "0"},
            ulimits=[docker.types.Ulimit(name="core", soft=0, hard=0)],
            log_config=docker.types.LogConfig(type="json-file", config={"max-size": "64m"}),
            # the engine writes resolv.conf (loopback dnsmasq) in its own folder: a bind mount of ours showed the
            # grader's checkout path in /proc/self/mountinfo; the hostname no longer names the container
            dns=["127.0.0.1"],
            dns_opt=["timeout:2", "attempts:1"],
            hostname="grade",
            user="root",
        )

    def run(self, request: RunRequest) -> RunOutcome:
        s = request.settings
        uid = take_uid()
        try:
            with _terminate_as_interrupt():
                return self._create_and_run(request, s, uid)
        finally:
            give_uid(uid)  # after destroy(): the container and its processes are gone

    def _create_and_run(self, request: RunRequest, s: Settings, uid: int) -> RunOutcome:
        try:
            container = self._create(request, uid)
        except docker.errors.ImageNotFound as err:
            raise ImageError(f"image {self.image} is missing — build it with `grade image build`") from err
        except (docker.errors.APIError, requests.exceptions.RequestException) as err:
            return RunOutcome(infra_error=f"could not create the container: {err}")
        self.last_container = container.id
        with _live_lock:
            _live.add(container.id)
        try:
            return self._run(container, s)
        finally:
            destroy(container)
            with _live_lock:
                _live.discard(container.id)

    def _run(self, container: Any, s: Settings) -> RunOutcome:
        try:
            container.start()
            limit = s.timeout_s + s.start_margin_s
            t0 = time.monotonic()
            try:
                container.wait(timeout=limit)
            except requests.exceptions.RequestException as err:
                if time.monotonic() - t0 < limit - 1:  # not our time-out: the engine went away mid-run
                    return RunOutcome(infra_error=f"the Docker engine stopped answering during the run: {err}")
                # the entrypoint did not finish in time: stop everything the hard way (destroy() removes it)
                _signal(container, "SIGCONT")
                _signal(container, "SIGKILL")
                why = "the container did not end by itself and was killed"
                return RunOutcome(kill_reason="timeout", infra_error=why)
            container.reload()
            logs = container.logs(stdout=True, stderr=True).decode("utf-8", "replace")
            outcome = RunOutcome.from_entrypoint(logs)
            oom = bool(container.attrs["State"].get("OOMKilled"))
            if oom and outcome.infra_error:
                # the kernel ended the entrypoint itself for want of memory: the program filled it, not the grader
                return RunOutcome(oom_killed=True)
            outcome.oom_killed = bool(oom or outcome.oom_kills)
            return outcome
        except requests.exceptions.ConnectionError as err:  # whenever it happens (start, wait, logs): one wording
            return RunOutcome(infra_error=f"the Docker engine stopped answering during the run: {err}")
        except (docker.errors.APIError, requests.exceptions.RequestException) as err:
            return RunOutcome(infra_error=f"the Docker engine failed during the run: {err}")


def _signal(container: Any, sig: str) -> None:
    # already stopped, or the engine is gone: destroy() decides
    with contextlib.suppress(docker.errors.APIError, requests.exceptions.RequestException):
        container.kill(signal=sig)


def destroy(container: Any, *, attempts: int = 20) -> bool:
    """Kill and remove a container with its volumes, retrying: True once it is gone.

    A second Ctrl-C while this runs is held back until the container is gone, so an impatient user
    cannot leave one behind; a container the engine cannot remove keeps its label for `grade clean`.
    """
    interrupted = False
    try:
        for i in range(attempts):
            try:
                container.remove(force=True, v=True)
                return True
            except docker.errors.NotFound:
                return True
            except (docker.errors.APIError, requests.exceptions.RequestException):
                _signal(container, "SIGCONT")  # a frozen process group must run to die
                time.sleep(min(0.1 * (i + 1), 1.0))
            except KeyboardInterrupt:
                interrupted = True
        return False
    finally:
        if interrupted:
            raise KeyboardInterrupt


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a closed terminal, a CI cancel) cleans up like Ctrl-C instead of killing us outright."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@atexit.register
def _remove_live() -> None:
    """Last resort at interpreter exit: containers of runs that never reached their cleanup."""
    with _live_lock:
        ids = list(_live)
    if not ids:
        return
    try:
        client = docker.from_env(timeout=10)
    except docker.errors.DockerException:
        return
    for cid in ids:
        with contextlib.suppress(docker.errors.APIError, requests.exceptions.RequestException):
            client.api.remove_container(cid, force=True, v=True)
