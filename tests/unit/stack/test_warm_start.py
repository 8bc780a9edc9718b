"""Flow-run processes forked from the warm-start server behave as the cold process they replace:
the same environment, folder, arguments, streams and exit status; a signal to the started
process reaches the run; a killed client takes its run with it; no server means a cold start."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from offboarding.adapters.warm_start import CLIENT_MODULE, SOCKET_ENV
from offboarding.adapters.warm_start.runner_hook import warm_command
from tests.unit.stack.test_child_processes import _gone

TOY = """
import json, os, stat, sys, time
comm = open(f"/proc/{os.getpid()}/comm").read().strip()
print(json.dumps({"pid": os.getpid(), "ppid": os.getppid(), "cwd": os.getcwd(), "comm": comm,
                  "stdin_socket": stat.S_ISSOCK(os.fstat(0).st_mode),
                  "argv": sys.argv[1:], "toy": os.environ.get("TOY")}), flush=True)
print("to stderr", file=sys.stderr, flush=True)
if os.environ.get("TOY") == "sleep":
    time.sleep(60)
sys.exit(int(os.environ.get("TOY_CODE", "0")))
"""
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def toy_path(tmp_path: Path) -> str:
    (tmp_path / "toy_engine.py").write_text(TOY)
    return os.pathsep.join([str(tmp_path), str(ROOT)])


@pytest.fixture
def server(toy_path: str) -> Iterator[tuple[subprocess.Popen, str]]:
    name = f"offboarding-warm-test-{os.getpid()}-{time.monotonic_ns()}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "offboarding.adapters.warm_start.server", name, str(os.getpid())]
        + ["json"],
        env={**os.environ, "PYTHONPATH": toy_path},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert "warm start ready" in proc.stdout.readline()
    yield proc, name
    proc.kill()
    proc.wait(10)


def _client(name: str, toy_path: str, cwd: Path, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", CLIENT_MODULE, "-m", "toy_engine", "one", "two"],
        env={**os.environ, "PYTHONPATH": toy_path, SOCKET_ENV: name, **env},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_forked_run_has_the_clients_environment_folder_streams_and_exit_code(
    server: tuple[subprocess.Popen, str], toy_path: str, tmp_path: Path
) -> None:
    proc, name = server
    client = _client(name, toy_path, tmp_path, TOY="hello", TOY_CODE="3")
    out, err = client.communicate(timeout=60)
    seen = json.loads(out)
    assert seen["ppid"] == proc.pid and seen["comm"] == "flow-run"  # forked, not started cold
    assert seen["toy"] == "hello" and seen["argv"] == ["one", "two"]
    assert seen["cwd"] == str(tmp_path) and err == "to stderr\n"
    assert client.returncode == 3


def test_a_signal_to_the_client_reaches_the_run_and_a_killed_client_takes_it_along(
    server: tuple[subprocess.Popen, str], toy_path: str, tmp_path: Path
) -> None:
    _, name = server
    client = _client(name, toy_path, tmp_path, TOY="sleep")
    run = json.loads(client.stdout.readline())["pid"]
    client.send_signal(signal.SIGTERM)  # how the runner cancels a run
    assert client.wait(30) == -signal.SIGTERM  # it ends as the run ended
    assert _gone(run)

    client = _client(name, toy_path, tmp_path, TOY="sleep")
    run = json.loads(client.stdout.readline())["pid"]
    client.send_signal(signal.SIGKILL)
    client.wait(30)
    assert _gone(run), "the run outlived its killed client"


def test_a_client_started_with_stdin_closed_still_runs_warm(
    server: tuple[subprocess.Popen, str], toy_path: str, tmp_path: Path
) -> None:
    proc, name = server
    command = f"exec 0<&- {sys.executable} -m {CLIENT_MODULE} -m toy_engine"
    env = {**os.environ, "PYTHONPATH": toy_path, SOCKET_ENV: name, "TOY": "no-stdin"}
    done = subprocess.run(
        ["sh", "-c", command], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    seen = json.loads(done.stdout)
    assert seen["ppid"] == proc.pid and seen["toy"] == "no-stdin" and done.returncode == 0
    assert not seen["stdin_socket"]  # /dev/null, not the client's own connection


def test_the_server_ignores_a_garbled_request_and_keeps_serving(
    server: tuple[subprocess.Popen, str], toy_path: str, tmp_path: Path
) -> None:
    import socket

    proc, name = server
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as bad:
        bad.connect("\0" + name)
        bad.sendall(b"\xff\xff\xff\xffnot json")
    client = _client(name, toy_path, tmp_path, TOY="after")
    out, _ = client.communicate(timeout=60)
    assert json.loads(out)["ppid"] == proc.pid and client.returncode == 0


def test_without_a_server_the_client_starts_the_run_cold(toy_path: str, tmp_path: Path) -> None:
    client = _client("offboarding-warm-nobody-listens", toy_path, tmp_path, TOY="cold")
    out, err = client.communicate(timeout=60)
    seen = json.loads(out)
    assert seen["pid"] == client.pid and seen["toy"] == "cold"  # the client became the run
    assert err == "to stderr\n" and client.returncode == 0


def test_only_the_engine_command_is_rewritten() -> None:
    assert warm_command(["/py", "-m", "prefect.engine"]) == ["/py", "-m", CLIENT_MODULE] + [
        "-m",
        "prefect.engine",
    ]
    assert warm_command(["/py", "-m", "other"]) == ["/py", "-m", "other"]


def test_the_warm_server_imports_the_module_of_every_deployed_flow() -> None:
    from deployments import FLOW_MODULES
    from deployments.serve import deployments

    entrypoints = {d.entrypoint.split(":")[0] for d in deployments()}
    assert {f"flows.{Path(e).stem}" for e in entrypoints} == set(FLOW_MODULES)


def test_the_production_pools_runs_start_through_the_client(monkeypatch) -> None:  # noqa: ANN001
    from offboard.stack_production import pool_job_template

    command = pool_job_template()["variables"]["properties"]["command"]["default"]
    assert command.split()[1:] == ["-m", CLIENT_MODULE, "-m", "prefect.engine"]
    monkeypatch.setenv("OFFBOARDING_WARM_START", "0")
    assert pool_job_template()["variables"]["properties"]["command"].get("default") is None
