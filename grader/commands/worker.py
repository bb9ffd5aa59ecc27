"""`grade worker`: grade a cluster's runs on this host (see grader/cluster/worker.py)."""

from __future__ import annotations

import socket
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def worker(
        broker: Annotated[
            str,
            typer.Option(
                "--broker", envvar="GRADE_BROKER", help="the Redis URL: redis://[:PASSWORD@]HOST:6379/0 (rediss:// TLS)"
            ),
        ],
        jobs: Annotated[
            int | None, typer.Option("--jobs", "-j", min=1, help="runs at a time [default: as batch's]")
        ] = None,
        name: Annotated[
            str | None, typer.Option("--name", "-n", help="this worker's name, unique [default: grade@HOSTNAME]")
        ] = None,
        sandbox: Annotated[str, typer.Option(help="docker, or none inside a throwaway container")] = "docker",
    ) -> None:
        """Grade runs that `grade batch --broker` hands out, on this host's Docker engine."""
        from grader.batch import default_jobs
        from grader.cli import settings_from
        from grader.cluster.worker import run_worker
        from grader.errors import GraderError

        if sandbox not in ("docker", "none"):
            raise GraderError(f"unknown sandbox {sandbox!r} — use docker, or none inside a throwaway container")
        run_worker(
            broker,
            jobs=jobs or default_jobs(),
            name=name or f"grade@{socket.gethostname()}",
            settings=settings_from(sandbox=sandbox),
        )
