"""The production topology, runnable on one machine: what the README tells a team to run.

A Prefect server on PostgreSQL with Prefect's Redis messaging (so several API replicas can share
events), our own database on PostgreSQL, a Prefect *process work pool* with the deployments of
`prefect.yaml` applied by `prefect deploy --all`, two workers, and Prefect's zombie automation
(sparing paused and suspended runs). S3 and the web service are the embedded stack's.

Each start creates its own two databases (named after the state folder's run id) on the
PostgreSQL server at OFFBOARDING_PG_ADMIN_URL (default: the local one, user postgres) and uses
Redis at OFFBOARDING_REDIS_URL; `stop()` drops the databases it created.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import httpx

from offboard.stack import Stack, _descendants, _kill

REPO = Path(__file__).resolve().parents[1]
POOL = "offboarding"
#: the work queue of a case's own runs, before `default` (see prefect.yaml)
CASES_QUEUE = "cases"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"


def pool_job_template() -> dict:
    """The process pool's default job template, its runs' command the warm client's
    (OFFBOARDING_WARM_START=0: Prefect's own, cold starts)."""
    from prefect.workers.process import ProcessWorker

    from offboarding.adapters.warm_start import warm_start_enabled
    from offboarding.adapters.warm_start.runner_hook import warm_engine_command

    template = ProcessWorker.get_default_base_job_template()
    if warm_start_enabled():
        template["variables"]["properties"]["command"]["default"] = warm_engine_command()
    return template


class ProductionStack(Stack):
    """`Stack` with PostgreSQL, Redis, a process work pool and `workers` workers."""

    def __init__(self, state_dir: Path, workers: int = 2, **kwargs: object) -> None:
        super().__init__(state_dir, **kwargs)  # type: ignore[arg-type]
        self.workers = workers
        self._workers: list[subprocess.Popen] = []
        self.run_id = secrets.token_hex(4)
        self.pg_admin = os.environ.get("OFFBOARDING_PG_ADMIN_URL", PG_ADMIN_URL)
        self.redis_url = os.environ.get("OFFBOARDING_REDIS_URL", REDIS_URL)
        self.databases = (f"offboarding_prefect_{self.run_id}", f"offboarding_{self.run_id}")
        self._deployed = False

    def _pg(self, database: str, driver: str) -> str:
        base = self.pg_admin.rsplit("/", 1)[0].split("://", 1)[1]
        return f"postgresql+{driver}://{base}/{database}"

    @property
    def env(self) -> dict[str, str]:
        prefect_db, our_db = self.databases
        env = super().env
        env.update(
            {
                "PREFECT_API_DATABASE_CONNECTION_URL": self._pg(prefect_db, "asyncpg"),
                "OFFBOARDING_DATABASE_URL": self._pg(our_db, "psycopg2"),
                # several API replicas share events, caches and leases through Redis
                "PREFECT_MESSAGING_BROKER": "prefect_redis.messaging",
                "PREFECT_MESSAGING_CACHE": "prefect_redis.messaging",
                "PREFECT_SERVER_EVENTS_CAUSAL_ORDERING": "prefect_redis.ordering",
                "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": "prefect_redis.lease_storage",
                "PREFECT_REDIS_MESSAGING_URL": self.redis_url,
                "PREFECT_SERVER_DOCKET_URL": self.redis_url,
                "PREFECT_SERVER_DOCKET_NAME": f"offboarding-{self.run_id}",
                "OFFBOARDING_REPO": str(REPO),
                "PREFECT_RUNNER_HEARTBEAT_FREQUENCY": "30",
            }
        )
        return env

    def _admin(self, statement: str) -> None:
        """Run `statement` (with `{name}`) for each of the stack's databases, outside a
        transaction as CREATE/DROP DATABASE require."""
        import psycopg2

        conn = psycopg2.connect(self.pg_admin.replace("postgresql+psycopg2://", "postgresql://"))
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                for name in self.databases:
                    cur.execute(statement.format(name=name))
        finally:
            conn.close()

    def create_databases(self) -> None:
        self._admin('CREATE DATABASE "{name}"')

    def drop_databases(self) -> None:
        self._admin('DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _prefect(self, *args: str, timeout: float = 300) -> str:
        """A `prefect` CLI command against this stack, from the repository root."""
        done = subprocess.run(
            [sys.executable, "-m", "prefect", "--no-prompt", *args],
            cwd=REPO,
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"prefect {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def deploy(self) -> None:
        """The work pool, every deployment of prefect.yaml, and the zombie automation."""
        from offboard.zombies import install_zombie_automation

        template = self.state_dir / "pool-job-template.json"
        template.write_text(json.dumps(pool_job_template()))
        self._prefect(
            "work-pool", "create", POOL, "--type", "process", "--overwrite",
            "--base-job-template", str(template),
        )  # fmt: skip
        # the limit is the pool's, kept by the server, not a per-worker `--limit`: Prefect 3.8's
        # worker stops altogether when a resumed run reaches it while its slot for that run is
        # not yet given back ("already holding one of this CapacityLimiter's tokens")
        limit = str(int(os.environ.get("OFFBOARDING_WORKER_LIMIT", "8")) * self.workers)
        self._prefect("work-pool", "set-concurrency-limit", POOL, limit)
        # a case's own runs first (prefect.yaml puts them on `cases`): in a burst, a run resumed
        # by a person's decision must not wait behind hundreds of background stage runs
        queue = httpx.get(f"{self.api_url}/work_pools/{POOL}/queues/{CASES_QUEUE}", timeout=30)
        if queue.status_code == 404:
            self._prefect("work-queue", "create", CASES_QUEUE, "--pool", POOL, "--priority", "1")
        self._prefect("deploy", "--all")
        if self.env.get("OFFBOARDING_RECOVERY_CRON") == "":  # off, as the settings say
            self._prefect(
                "deployment", "schedule", "clear", "offboarding-recovery/run-recovery", "-y"
            )
        env = {**os.environ, **self.env}
        hooks = env.get("OFFBOARDING_WEBHOOKS") or env.get("OFFBOARDING_WEBHOOKS_FILE")
        if not hooks or env.get("OFFBOARDING_WEBHOOK_CRON") == "":  # no endpoint: no empty runs
            self._prefect(
                "deployment", "schedule", "clear", "webhook-delivery/webhook-delivery", "-y"
            )
        install_zombie_automation()
        self._deployed = True

    def start_runner(self, timeout: float = 120) -> None:
        """The workers of the process pool (what `offboard up` serves from one process)."""
        if not self._deployed:
            self.deploy()
        self._workers = [
            self._spawn(
                [
                    sys.executable,
                    "-m",
                    "deployments.worker",  # `prefect worker start` with the warm start beside it
                    "--pool",
                    POOL,
                    "--name",
                    f"worker-{i}-{self.run_id}",
                ],
                f"worker-{i}.log",
            )
            for i in range(1, self.workers + 1)
        ]
        self._runner = self._workers[0]
        self._wait_workers(timeout)

    def _wait_workers(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i, proc in enumerate(self._workers, 1):
                if proc.poll() is not None:
                    raise RuntimeError(f"worker {i} exited; see {self.state_dir}/worker-{i}.log")
            try:
                r = httpx.post(f"{self.api_url}/work_pools/{POOL}/workers/filter", timeout=5)
                online = [w for w in r.json() if w.get("status") == "ONLINE"]
                if len(online) >= len(self._workers):
                    return
            except (httpx.HTTPError, ValueError, TypeError):
                pass
            time.sleep(1)
        raise TimeoutError("workers not online in time")

    def kill_worker(self, index: int = 0) -> None:
        """kill -9 one worker and the flow-run processes it started (a machine lost)."""
        proc = self._workers[index]
        for pid in _descendants(proc.pid):
            _kill(pid)
        _kill(proc.pid)
        proc.wait(10)

    def kill_runner(self) -> None:
        for i, proc in enumerate(self._workers):
            if proc.poll() is None:
                self.kill_worker(i)
        self._workers, self._runner = [], None

    def start(self) -> ProductionStack:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.create_databases()
        try:
            super().start()
        except BaseException:
            self.stop()
            raise
        return self

    def process_ids(self) -> dict[str, int]:
        pids = super().process_ids()
        pids.pop("runner", None)  # the first worker, named as such below
        pids.update({f"worker-{i}": p.pid for i, p in enumerate(self._workers, 1)})
        return pids

    def stop(self) -> None:
        for proc in self._workers:
            if proc.poll() is None:
                for pid in _descendants(proc.pid):
                    _kill(pid, 15)
                proc.terminate()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
        self._workers, self._runner = [], None
        super().stop()
        try:
            self.drop_databases()
        except Exception as exc:  # noqa: BLE001 - a stop must finish; say what stayed
            print(f"could not drop {', '.join(self.databases)}: {exc}", file=sys.stderr)
