"""Start the warm-start server beside a Prefect runner and route the runner's engine starts
through its client (the package docstring says why)."""

from __future__ import annotations

import os
import secrets
import shlex
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

from offboarding.adapters.warm_start import CLIENT_MODULE, SOCKET_ENV, warm_start_enabled

ENGINE = ["-m", "prefect.engine"]

# What every flow-run process imports before its flow's own modules (measured: about 1.5 CPU-s).
PREFECT_MODULES = (
    "prefect",
    "prefect.engine",
    "prefect.flow_engine",
    "prefect.task_engine",
    "prefect._internal.metrics",
    "prefect.client.orchestration",
    "prefect.flow_runs",
    "prefect.deployments",
    "prefect.input.run_input",
    "prefect.artifacts",
    "prefect.states",
    "prefect.results",
)


def start_warm_server(modules: Sequence[str], route: bool = True) -> subprocess.Popen | None:
    """The server, importing Prefect and `modules`; with `route`, this process's runner starts
    its engine runs through it (a process worker takes the pool's command instead). None (cold
    starts) off Linux or with OFFBOARDING_WARM_START=0."""
    if not warm_start_enabled():
        return None
    name = f"offboarding-warm-{os.getpid()}-{secrets.token_hex(8)}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "offboarding.adapters.warm_start.server",
            name,
            str(os.getpid()),
            *PREFECT_MODULES,
            *modules,
        ]
    )
    os.environ[SOCKET_ENV] = name  # the runner passes its environment on to every run
    if route:
        route_engine_runs()
    return server


def warm_engine_command() -> str:
    """The engine command through the client, for a process pool's job template."""
    return shlex.join([sys.executable, "-m", CLIENT_MODULE, *ENGINE])


def warm_command(command: Sequence[str]) -> list[str]:
    """`python -m prefect.engine …` through the client; any other command as it is."""
    command = list(command)
    if command[1:3] == ENGINE:
        return [command[0], "-m", CLIENT_MODULE, *command[1:]]
    return command


def route_engine_runs() -> None:
    """Prefect's engine starter runs `run_process` from its own module, the override point its
    docstring names; ours rewrites the engine command and hands on everything else."""
    from prefect.runner import _starter_engine

    original = _starter_engine.run_process
    if getattr(original, "warm_start", False):
        return

    async def run_process(*args: Any, command: Sequence[str], **kwargs: Any) -> Any:
        return await original(*args, command=warm_command(command), **kwargs)

    run_process.warm_start = True  # type: ignore[attr-defined]
    _starter_engine.run_process = run_process
