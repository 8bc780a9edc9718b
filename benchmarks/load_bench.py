"""A burst of cancellations against a whole stack: how long until every case is through, what one
case costs the orchestration, and whether anything was lost or done twice.

    .venv/bin/python benchmarks/load_bench.py --cases 100                  # embedded stack
    .venv/bin/python benchmarks/load_bench.py --cases 1000 --production    # production stack
    .venv/bin/python benchmarks/load_bench.py --cases 20 --save-share 0.3 --day-seconds 1

Starts the embedded stack (Prefect server on SQLite, SeaweedFS, web service, runner), or with
`--production` the production topology (`offboard up --production`: Prefect on PostgreSQL with
Redis messaging, a process work pool, two workers), in a fresh state folder, imports `--cases`
generated accounts, requests one cancellation per account at once (16 threads), then answers
every decision as its people would (the owner verifies; a `--save-share` of the accounts are
large enough for a save conversation, answered "not saved", and a manager approval),
until every case is closed. It reports:

- the time from the burst until all are acknowledged, all wait at their first decision, all are
  offboarding, all are closed;
- CPU-seconds per case of every process of the stack (server, runner and the flow-run
  processes it started and reaped, web service, S3), read from /proc;
- flow-run processes per case (each run start or resume is a process: the sum of run counts);
- failed or crashed runs; API errors in the Prefect server's log; duplicated side effects
  (messages per case, kind and sequence; invoices and exports per case), which must be zero.

Prints the machine and a markdown row for benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select  # noqa: E402

from offboard.stack import Stack, _descendants  # noqa: E402
from offboard.stack_production import ProductionStack  # noqa: E402

CLOSED = {"closed", "purged"}
LATER = CLOSED | {"offboarding"}
POLICY = "approvals:\n  decision_timeout_days: 100000\n"  # no escalation inside a benchmark
OWNER = "dana.lee@example.com"
MANAGER = "maya.manager@example.com"


def accounts(n: int, save_share: float) -> list[dict[str, Any]]:
    """`n` accounts; every 1/save_share-th is mid-market with a large ARR (save talk, approval)."""
    every = round(1 / save_share) if save_share > 0 else 0
    out = []
    for i in range(n):
        big = every and i % every == 0
        out.append(
            {
                "account_id": f"LOAD-{i:04d}",
                "name": f"Load {i:04d} Ltd",
                "segment": "mid-market" if big else "smb",
                "arr": 180_000 if big else 6_000,
                "contract_start": "2024-01-01",
                "contract_end": "2027-12-31",
                "prepaid_amount": 500,
                "owner": {"name": "Dana Lee", "title": "CSM", "email": OWNER, "phone": "+1 555"},
                "contacts": [{"name": "Ada", "email": f"ada@load{i:04d}.example", "role": "admin"}],
            }
        )
    return out


def own_cpu_seconds(pids: list[int]) -> float:
    """utime+stime of these processes themselves, not of any child."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def cpu_seconds(pids: list[int]) -> float:
    """utime+stime of each process and its reaped children, plus live descendants' own."""
    tick = os.sysconf("SC_CLK_TCK")
    total, seen = 0.0, set()
    for root in pids:
        for pid in [root, *_descendants(root)]:
            if pid in seen:
                continue
            seen.add(pid)
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += sum(int(x) for x in fields[11:15]) / tick  # utime stime cutime cstime
    return total


def answer(case_id: str, key: str, big: bool) -> None:
    """What the people of the case decide, through the CLI's path, with their own tokens."""
    from offboard.service import decide
    from offboard.service.tokens import token_for

    if key.startswith("verification"):
        verb, by = "verify", OWNER
        payload = {"is_cancellation": True, "reason": "cost"}
        payload["customer_declines_sales_conversation"] = not big
    elif key.startswith("save"):
        verb, by, payload = "save-outcome", OWNER, {"outcome": "not_saved"}
    elif key.startswith("approval-manager"):
        verb, by, payload = "approve", MANAGER, {"decision": "approve"}
    elif key.startswith("approval-legal"):
        verb, by, payload = "approve", "lena.legal@example.com", {"decision": "approve"}
    else:
        raise RuntimeError(f"{case_id}: no scripted answer for {key}")
    with TOKENS_LOCK:  # the first admin token is issued once, not by two threads at a time
        token = token_for(by, TOKENS)
    decide(case_id, verb, {"decided_by": by, **payload}, 0, token)


TOKENS: dict[str, dict[str, str]] = {}
TOKENS_LOCK = threading.Lock()


def drive(case_ids: dict[str, bool], marks: dict[str, float], t0: float, timeout: float) -> int:
    """Answer each wait as it appears, again when not delivered; note when all reach each
    milestone."""
    from offboarding.settings import get_settings
    from offboarding.storage.db import session_scope
    from offboarding.storage.models import CaseRow, MessageRow

    answered: set[tuple[str, str]] = set()
    seen_waiting: set[str] = set()
    pool = ThreadPoolExecutor(4)
    pending: dict = {}  # future -> the (case, wait) it answers
    regiven = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope(get_settings().db_url) as s:
            rows = s.execute(
                select(CaseRow.case_id, CaseRow.status, CaseRow.waiting_for).where(
                    CaseRow.case_id.in_(case_ids)
                )
            ).all()
            acked = s.scalar(
                select(func.count(func.distinct(MessageRow.case_id))).where(
                    MessageRow.case_id.in_(case_ids), MessageRow.kind == "acknowledgement"
                )
            )
        now = time.monotonic() - t0
        seen_waiting.update(c for c, st, w in rows if w or st in LATER)
        reached = {
            "acknowledged": acked == len(case_ids),
            "first_decision": len(seen_waiting) == len(case_ids),
            "offboarding": all(st in LATER for _, st, _w in rows),
            "closed": all(st in CLOSED for _, st, _w in rows),
        }
        for name, done in reached.items():
            if name not in marks and done:
                marks[name] = now
                print(f"  all {name:<15} {now:7.1f} s", flush=True)
        if "closed" in marks:
            break
        for case_id, _, waiting in rows:
            if waiting and (case_id, waiting) not in answered:
                answered.add((case_id, waiting))
                fut = pool.submit(answer, case_id, waiting, case_ids[case_id])
                pending[fut] = (case_id, waiting)
        for fut in [f for f in pending if f.done()]:
            given = pending.pop(fut)
            if fut.exception():  # "NOT delivered ... give it again": as its people would
                answered.discard(given)
                regiven += 1
                print(f"  decision not delivered, given again: {fut.exception()}", flush=True)
        time.sleep(1)
    pool.shutdown(wait=True)
    return regiven


def run_facts(t_start: datetime) -> dict[str, int]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterStartTime

    processes = failed = 0
    with get_client(sync_client=True) as client:
        offset = 0
        while True:
            page = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(start_time=FlowRunFilterStartTime(after_=t_start)),
                limit=200,
                offset=offset,
            )
            for run in page:
                if run.parent_task_run_id is None:  # a subflow runs in its parent's process
                    processes += run.run_count
                if run.state and (run.state.is_failed() or run.state.is_crashed()):
                    failed += 1
            if len(page) < 200:
                break
            offset += 200
    return {"processes": processes, "failed_runs": failed}


def duplicates(case_ids: list[str]) -> dict[str, int]:
    from offboarding.settings import get_settings
    from offboarding.storage.db import session_scope
    from offboarding.storage.models import ExportRow, InvoiceRow, MessageRow

    def twice(*cols) -> int:  # noqa: ANN002
        with session_scope(get_settings().db_url) as s:
            grouped = (
                select(*cols)
                .where(cols[0].in_(case_ids))
                .group_by(*cols)
                .having(func.count() > 1)
                .subquery()
            )
            return s.scalar(select(func.count()).select_from(grouped))

    return {
        "messages": twice(MessageRow.case_id, MessageRow.kind, MessageRow.seq),
        "invoices": twice(InvoiceRow.case_id),
        "exports": twice(ExportRow.case_id),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=100)
    ap.add_argument("--save-share", type=float, default=0.2)
    ap.add_argument("--day-seconds", type=float, default=1.0)
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--state", type=Path, default=None, help="state folder (default: a temp one)")
    ap.add_argument("--production", action="store_true", help="the production topology")
    ap.add_argument("--workers", type=int, default=2, help="workers of the production stack")
    args = ap.parse_args()

    state = args.state or Path(tempfile.mkdtemp(prefix="load-bench-"))
    state.mkdir(parents=True, exist_ok=True)
    (state / "policy.yaml").write_text(POLICY, encoding="utf-8")
    kind = "production" if args.production else "embedded"
    stack = (
        ProductionStack(state, workers=args.workers, day_seconds=args.day_seconds)
        if args.production
        else Stack(state, day_seconds=args.day_seconds)
    )
    stack.extra_env = {"OFFBOARDING_POLICY_FILE": str(state / "policy.yaml")}
    machine = f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
    print(f"machine: {machine}")
    print(f"starting the {kind} stack in {state} …", flush=True)
    stack.start()
    try:
        from offboard.service import import_accounts, submit_request
        from offboarding.domain import CancellationRequest

        accts = accounts(args.cases, args.save_share)
        (state / "accounts.json").write_text(json.dumps(accts), encoding="utf-8")
        import_accounts(state / "accounts.json")
        pids = stack.process_ids()
        roots = list(pids.values())
        parts = {  # where the CPU goes: the Prefect server, the runs, our web service, S3
            "server": [pids["server"]],
            "runner_and_runs": [p for k, p in pids.items() if k == "runner" or "worker" in k],
            "web": [pids["web"]] if "web" in pids else [],
            "s3": [pids["s3"]],
        }
        parts_before = {k: cpu_seconds(v) for k, v in parts.items()}
        runner_before = own_cpu_seconds(parts["runner_and_runs"])
        log = state / "prefect-server.log"
        errors_before = _api_errors(log)
        cpu_before, t_start = cpu_seconds(roots), datetime.now(UTC)
        t0 = time.monotonic()

        def ask(a: dict[str, Any]) -> tuple[str, bool]:
            request = CancellationRequest(
                account_id=a["account_id"],
                requested_by=a["contacts"][0]["email"],
                requested_at=datetime.now(UTC),
                reason_text="too expensive",
                external_ref=f"LOAD-{a['account_id']}",
            )
            return submit_request(request)["case_id"], a["segment"] != "smb"

        with ThreadPoolExecutor(16) as pool:
            case_ids = dict(pool.map(ask, accts))
        print(f"  {len(case_ids)} requests in {time.monotonic() - t0:.1f} s", flush=True)
        marks: dict[str, float] = {}
        regiven = drive(case_ids, marks, t0, args.timeout)
        cpu = cpu_seconds(roots) - cpu_before
        n_cases = len(case_ids)
        split = {
            k: round((cpu_seconds(v) - parts_before[k]) / n_cases, 2) for k, v in parts.items()
        }
        # of which the runner or workers themselves (polling, watching), not the runs they start
        own = own_cpu_seconds(parts["runner_and_runs"]) - runner_before
        split["of_which_runner_or_workers_own"] = round(own / n_cases, 2)
        facts = run_facts(t_start)
        dup = duplicates(list(case_ids))
        errors = _api_errors(log) - errors_before
    finally:
        stack.stop()
    n = len(case_ids)
    result = {
        "cases": n,
        **{f"all_{k}_s": round(v, 1) for k, v in marks.items()},
        "cpu_s_per_case": round(cpu / n, 2),
        "cpu_s_per_case_by_part": split,
        "processes_per_case": round(facts["processes"] / n, 2),
        "failed_runs": facts["failed_runs"],
        "decisions_given_again": regiven,
        "api_errors": errors,
        "duplicates": dup,
    }
    print(json.dumps(result, indent=1))
    fmt = lambda k: f"{marks[k]:.0f}" if k in marks else "—"  # noqa: E731
    print(
        f"| {kind} | {n} | {fmt('acknowledged')} | {fmt('first_decision')} | "
        f"{fmt('offboarding')} | {fmt('closed')} | {result['cpu_s_per_case']} | "
        f"{result['processes_per_case']} | {facts['failed_runs']} | {errors} | "
        f"{sum(dup.values())} |"
    )


def _api_errors(log: Path) -> int:
    """Errors the Prefect server logged (on SQLite mostly 'database is locked', a 503 to the
    client, which retries)."""
    if not log.exists():
        return 0
    text = log.read_text(encoding="utf-8", errors="replace")
    return sum(1 for line in text.splitlines() if "| ERROR" in line)  # one per error


if __name__ == "__main__":
    main()
