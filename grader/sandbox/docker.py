"""The Docker sandbox: one fresh, locked-down container per run, always removed."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
import zlib
from typing import Any

import docker
import docker.errors
import requests.exceptions

from grader.errors import EngineUnavailable, ImageError, SubmissionError
from grader.image.build import RESOLV_CONF, ensure_image
from grader.image.seccomp import profile_json
from grader.sandbox.base import RunOutcome, RunRequest, entrypoint_config
from grader.settings import Settings

LABEL = "grade.run"
MAX_SOURCE = 256 << 10
ENGINE_HINT = "is dockerd running? start it with `sudo systemctl start docker` (or `dockerd &`)"
_live: set[str] = set()
_live_lock = threading.Lock()


def connect(timeout: float = 60) -> docker.DockerClient:
    try:
        client = docker.from_env(timeout=int(timeout))
        client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException) as err:
        raise EngineUnavailable(f"cannot reach the Docker engine — {ENGINE_HINT}") from err
    return client


def remove_strays(client: docker.DockerClient) -> int:
    """Remove containers left by a grader that was killed outright; returns how many."""
    strays = client.containers.list(all=True, filters={"label": LABEL})
    for c in strays:
        try:
            c.remove(force=True, v=True)
        except docker.errors.APIError:
            pass
    return len(strays)


class DockerSandbox:
    name = "docker"

    def __init__(self, settings: Settings, *, progress: Any = None) -> None:
        self.settings = settings
        self.client = connect()
        self.image = settings.image or ensure_image(self.client, progress=progress or (lambda msg: None))
        self._profile = profile_json()

    def _create(self, request: RunRequest) -> Any:
        s = request.settings
        if len(request.source) > MAX_SOURCE:
            raise SubmissionError(f"the submission is {len(request.source)} bytes; the limit is {MAX_SOURCE} — is it the right file?")
        config = entrypoint_config(request, script="/submission/solution.py", rundir="/run/grade", workdir="/tmp")
        config["source_z"] = base64.b64encode(zlib.compress(request.source)).decode()
        return self.client.containers.create(
            self.image,
            environment={"GRADE_CONFIG": json.dumps(config)},
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
            cap_add=["SYS_PTRACE", "SETUID", "SETGID"],
            security_opt=["no-new-privileges", f"seccomp={self._profile}"],
            sysctls={"net.ipv4.ip_unprivileged_port_start": "0"},
            ulimits=[docker.types.Ulimit(name="core", soft=0, hard=0)],
            log_config=docker.types.LogConfig(type="json-file", config={"max-size": "64m"}),
            mounts=[docker.types.Mount("/etc/resolv.conf", str(RESOLV_CONF), type="bind", read_only=True)],
            user="root",
        )

    def run(self, request: RunRequest) -> RunOutcome:
        s = request.settings
        t0 = time.monotonic()
        try:
            container = self._create(request)
        except docker.errors.ImageNotFound as err:
            raise ImageError(f"image {self.image} is missing — build it with `grade image build`") from err
        except (docker.errors.APIError, requests.exceptions.RequestException) as err:
            return RunOutcome(infra_error=f"could not create the container: {err}")
        with _live_lock:
            _live.add(container.id)
        try:
            container.start()
            try:
                container.wait(timeout=s.timeout_s + s.start_margin_s)
            except requests.exceptions.RequestException:
                # the entrypoint did not finish in time: stop everything the hard way
                container.kill()
                return RunOutcome(kill_reason="timeout", infra_error="the container did not end by itself and was killed")
            container.reload()
            logs = container.logs(stdout=True, stderr=True).decode("utf-8", "replace")
            outcome = RunOutcome.from_entrypoint(logs)
            outcome.oom_killed = bool(container.attrs["State"].get("OOMKilled"))
            return outcome
        except (docker.errors.APIError, requests.exceptions.RequestException) as err:
            return RunOutcome(infra_error=f"the Docker engine failed during the run: {err}")
        finally:
            try:
                container.remove(force=True, v=True)
            except (docker.errors.APIError, requests.exceptions.RequestException):
                pass  # a stray keeps its label; `grade clean` and the next start remove it
            with _live_lock:
                _live.discard(container.id)
            _ = t0
