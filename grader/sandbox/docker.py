"""The Docker sandbox: one fresh, locked-down container per run, always removed."""

from __future__ import annotations

import atexit
import base64
import contextlib
import dataclasses
import os
import random
import threading
import time
import zlib
from typing import TYPE_CHECKING, Any, ClassVar

from grader.errors import EngineUnavailable, ImageError, SubmissionError
from grader.image.seccomp import profile_json
from grader.interrupts import sigterm_interrupts
from grader.sandbox.base import IMAGE_UIDS, RunRequest, entrypoint_policy
from grader.sandbox.engine import Engine, EngineError, EngineGone, NotFound
from grader.settings import Settings

if TYPE_CHECKING:
    import docker

    from grader.sandbox.outcome import RunOutcome

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
    """The docker SDK's client, for what is rare (building the image, `grade doctor`); runs use `Engine`."""
    import docker
    import docker.errors
    import requests.exceptions

    try:
        # one pooled connection per concurrent call, or calls queue for a connection
        client = docker.from_env(timeout=int(timeout), max_pool_size=pool_size)
        client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException) as err:
        raise EngineUnavailable(f"cannot reach the Docker engine — {engine_hint(err)}") from err
    return client


def connect_engine(timeout: float = 10) -> Engine:
    """The engine a run talks to, pinged, or EngineUnavailable saying what to do."""
    try:
        engine = Engine()
        engine.negotiate(timeout=timeout)
    except (EngineError, EngineGone, OSError) as err:
        raise EngineUnavailable(f"cannot reach the Docker engine — {engine_hint(err)}") from err
    return engine


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


def remove_strays(engine: Engine, *, label: str = LABEL) -> int:
    """Remove containers left by a grader that was killed outright (those carrying `label`, `key` or
    `key=value`: a cluster worker sweeps only its own); returns how many."""
    strays = engine.containers(label)
    for cid in strays:
        with contextlib.suppress(EngineError, EngineGone, TimeoutError):
            engine.remove(cid)
    return len(strays)


class DockerSandbox:
    name = "docker"
    # policy fields laid over the request's (checked as any policy is): tests turn one layer off to prove the
    # other holds
    config_overrides: ClassVar[dict[str, Any]] = {}

    def __init__(
        self,
        settings: Settings,
        *,
        progress: Any = None,
        pool_size: int = 10,
        labels: dict[str, str] | None = None,
        engine: Engine | None = None,
        image: str | None = None,
    ) -> None:
        self.settings = settings
        self.labels = dict(labels or {})  # laid on every container of this sandbox, beside LABEL
        self.engine = engine or connect_engine()  # given: already pinged
        self.image = image or settings.image or self._ensure_image(progress, pool_size)  # image: known to exist
        self._profile = profile_json()
        self.last_container: str | None = None  # id of the latest run's container, for tests and tools
        self._stopped = False  # set by stop_all(): no run of this sandbox starts a container after it

    def _ensure_image(self, progress: Any, pool_size: int) -> str:
        """The runtime image's tag; built (with the docker SDK, rarely needed) only when it is missing."""
        from grader.image.tag import image_tag

        tag = image_tag()
        if self.engine.image_exists(tag):
            return tag
        from grader.image.build import ensure_image

        return ensure_image(connect(pool_size=pool_size), progress=progress or (lambda msg: None))

    def stop_all(self) -> int:
        """Remove the containers this process is running now (a batch's Ctrl-C, a cancelled early run): their
        runs end at once, and a run of this sandbox that had not yet created its container never starts it."""
        with _live_lock:
            self._stopped = True
            ids = list(_live)
        for cid in ids:
            with contextlib.suppress(EngineError, EngineGone, TimeoutError):
                self.engine.remove(cid)
        return len(ids)

    def _create(self, request: RunRequest, uid: int) -> str:
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
        return self.engine.create(container_config(self.image, policy.to_json(), s, self._profile, self.labels))

    def run(self, request: RunRequest) -> RunOutcome:
        s = request.settings
        uid = take_uid()
        try:
            with sigterm_interrupts():  # Ctrl-C's clean-up, not a death with the container running
                return self._create_and_run(request, s, uid)
        finally:
            give_uid(uid)  # after destroy(): the container and its processes are gone

    def _create_and_run(self, request: RunRequest, s: Settings, uid: int) -> RunOutcome:
        try:
            cid = self._create(request, uid)
        except NotFound as err:
            raise ImageError(f"image {self.image} is missing — build it with `grade image build`") from err
        except (EngineError, EngineGone, TimeoutError) as err:
            return _outcome_class()(infra_error=f"could not create the container: {err}")
        self.last_container = cid
        with _live_lock:
            _live.add(cid)
            stopped = self._stopped
        try:
            if stopped:  # stop_all() came while the container was being created
                return _outcome_class()(infra_error="the run was stopped before its container started")
            return self._run(cid, s)
        finally:
            destroy(self.engine, cid)
            with _live_lock:
                _live.discard(cid)

    def _run(self, cid: str, s: Settings) -> RunOutcome:
        engine = self.engine
        try:
            engine.start(cid)
            try:
                engine.wait(cid, timeout=s.timeout_s + s.start_margin_s)
            except TimeoutError:
                # the entrypoint did not finish in time: stop everything the hard way (destroy() removes it)
                _signal(engine, cid, "SIGCONT")
                _signal(engine, cid, "SIGKILL")
                why = "the container did not end by itself and was killed"
                return _outcome_class()(kill_reason="timeout", infra_error=why)
            logs = engine.logs(cid).decode("utf-8", "replace")
            oom = bool(engine.inspect(cid)["State"].get("OOMKilled"))
        except (EngineGone, TimeoutError) as err:  # whenever it happens (start, wait, logs): one wording
            return _outcome_class()(infra_error=f"the Docker engine stopped answering during the run: {err}")
        except EngineError as err:
            return _outcome_class()(infra_error=f"the Docker engine failed during the run: {err}")
        outcome = _outcome_class().from_entrypoint(logs)
        if oom and outcome.infra_error:
            # the kernel ended the entrypoint itself for want of memory: the program filled it, not the grader
            return _outcome_class()(oom_killed=True)
        outcome.oom_killed = bool(oom or outcome.oom_kills)
        return outcome


def _outcome_class() -> type[RunOutcome]:
    """RunOutcome, imported when a run has ended: its validation library loads while the container starts,
    in `grade submit`'s main thread, never before this thread's engine calls."""
    from grader.sandbox.outcome import RunOutcome

    return RunOutcome


def container_config(
    image: str, policy_json: str, s: Settings, seccomp_profile: str, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    """The engine's create request for one run: no network, read-only root, every limit, two capabilities."""
    mib = 1 << 20
    return {
        "Image": image,
        "Env": [f"GRADE_CONFIG={policy_json}"],
        "Labels": {**(labels or {}), LABEL: os.urandom(16).hex(), "grade": "1"},
        # the hostname no longer names the container
        "Hostname": "grade",
        "User": "root",
        "HostConfig": {
            "NetworkMode": "none",
            "PidsLimit": s.pids,
            "Memory": s.memory_mb * mib,
            "MemorySwap": s.memory_mb * mib,
            "NanoCpus": int(s.cpus * 1e9),
            "ReadonlyRootfs": True,
            "Tmpfs": {
                "/tmp": f"rw,nosuid,nodev,size={s.tmpfs_mb}m,nr_inodes={s.tmpfs_inodes},mode=1777",
                "/run/grade": f"rw,nosuid,nodev,noexec,size={(s.trace_bytes >> 20) + 8}m,mode=0700",
                "/submission": "rw,nosuid,nodev,noexec,size=1m,mode=0755",
            },
            "ShmSize": 16 * mib,
            "CapDrop": ["ALL"],
            "CapAdd": ["SETUID", "SETGID"],  # the launcher becomes the student; nothing else
            "SecurityOpt": ["no-new-privileges", f"seccomp={seccomp_profile}"],
            "Sysctls": {"net.ipv4.ip_unprivileged_port_start": "0"},
            "Ulimits": [{"Name": "core", "Soft": 0, "Hard": 0}],
            "LogConfig": {"Type": "json-file", "Config": {"max-size": "64m"}},
            # the engine writes resolv.conf (loopback dnsmasq) in its own folder: a bind mount of ours showed the
            # grader's checkout path in /proc/self/mountinfo
            "Dns": ["127.0.0.1"],
            "DnsOptions": ["timeout:2", "attempts:1"],
        },
    }


def _signal(engine: Engine, cid: str, sig: str) -> None:
    # already stopped, or the engine is gone: destroy() decides
    with contextlib.suppress(EngineError, EngineGone, TimeoutError):
        engine.kill(cid, sig)


def destroy(engine: Engine, cid: str, *, attempts: int = 20) -> bool:
    """Kill and remove a container with its volumes, retrying: True once it is gone.

    A second Ctrl-C while this runs is held back until the container is gone, so an impatient user
    cannot leave one behind; a container the engine cannot remove keeps its label for `grade clean`.
    """
    interrupted = False
    try:
        for i in range(attempts):
            try:
                engine.remove(cid)
                return True
            except NotFound:
                return True
            except (EngineError, EngineGone, TimeoutError):
                _signal(engine, cid, "SIGCONT")  # a frozen process group must run to die
                time.sleep(min(0.1 * (i + 1), 1.0))
            except KeyboardInterrupt:
                interrupted = True
        return False
    finally:
        if interrupted:
            raise KeyboardInterrupt


@atexit.register
def _remove_live() -> None:
    """Last resort at interpreter exit: containers of runs that never reached their cleanup."""
    with _live_lock:
        ids = list(_live)
    if not ids:
        return
    engine = Engine()
    for cid in ids:
        with contextlib.suppress(EngineError, EngineGone, OSError):
            engine.remove(cid)
