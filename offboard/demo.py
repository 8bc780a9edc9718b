"""`offboard demo`: the embedded stack, sample accounts, and scripted cancellations run to
their end with a compressed day, approved through the same resume API approvers use."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from offboarding.domain import CancellationRequest

SAMPLE = Path(__file__).resolve().parent.parent / "offboarding" / "sample_data"
MANAGER, LEGAL = "maya.manager@example.com", "lena.legal@example.com"


@dataclass
class Script:
    title: str
    account_id: str
    requested_by: str
    reason_text: str
    steps: list[tuple[str, dict[str, Any]]]
    end: str
    channel: str = "email"
    path: list[str] = field(default_factory=list)


def scripts() -> list[Script]:
    soon = (date.today() + timedelta(days=20)).isoformat()
    return [
        Script(
            "structural churn (bankruptcy)",
            "ACME-SMB",
            "ann@acme-bakeries.example",
            "We are filing for bankruptcy, please close our account.",
            [
                (
                    "verify",
                    {
                        "decided_by": "sam.carter@example.com",
                        "reason": "bankruptcy",
                        "reason_detail": "Chapter 7 filing; stores closing",
                    },
                )
            ],
            end="purged",
            channel="support_ticket",
        ),
        Script(
            "strategic enterprise",
            "GLOBEX-ENT",
            "hank@globex.example",
            "We are consolidating onto another platform.",
            [
                (
                    "verify",
                    {
                        "decided_by": "priya.raman@example.com",
                        "reason": "competitor",
                        "reason_detail": "Consolidating tooling after a reorganisation",
                        "competitor_name": "Initrode",
                        "agreed_closure_date": soon,
                        "waive_notice": True,
                        "needs_knowledge_transfer": True,
                        "preventable": True,
                        "missed_warning_signs": "champion stopped logging in",
                    },
                ),
                (
                    "save-outcome",
                    {
                        "decided_by": "priya.raman@example.com",
                        "outcome": "declined_conversation",
                        "why": "Decision made at board level",
                    },
                ),
                (
                    "approve",
                    {
                        "decided_by": "dana.lee@example.com",
                        "decision": "approve",
                        "comment": "not a manager: must be refused",
                    },
                ),
                (
                    "approve",
                    {
                        "decided_by": MANAGER,
                        "decision": "approve",
                        "comment": "Waive notice for goodwill; reference relationship",
                    },
                ),
                (
                    "approve",
                    {
                        "decided_by": LEGAL,
                        "decision": "approve",
                        "comment": "Early termination and notice waiver approved",
                    },
                ),
            ],
            end="purged",
        ),
        Script(
            "saved case",
            "INITECH-MM",
            "bill@initech.example",
            "Too expensive for what we use.",
            [
                (
                    "verify",
                    {
                        "decided_by": "dana.lee@example.com",
                        "reason": "cost",
                        "reason_detail": "Pays for 40 seats, uses 12",
                    },
                ),
                (
                    "save-outcome",
                    {
                        "decided_by": "dana.lee@example.com",
                        "outcome": "saved",
                        "offered": "Right-size to 15 seats at renewal",
                        "customer_said": "That works for us",
                        "why": "cost fixed",
                    },
                ),
            ],
            end="saved",
        ),
        Script(
            "misrouted support ticket",
            "UMBRELLA-MM",
            "alice@umbrella.example",
            "Export button broken AGAIN. Cancel everything!!",
            [
                (
                    "verify",
                    {
                        "decided_by": "oliver.hughes@example.com",
                        "is_cancellation": False,
                        "reason_detail": "export button error; wants it fixed",
                    },
                )
            ],
            end="not_a_cancellation",
            channel="support_ticket",
        ),
        Script(
            "EU account (GDPR)",
            "SOYLENT-EU",
            "jonas@soylent.example",
            "We need SAML SSO for compliance; please cancel.",
            [
                (
                    "verify",
                    {
                        "decided_by": "lena.fischer@example.com",
                        "reason": "product_gap",
                        "product_gap": "SAML SSO",
                        "reason_detail": "SSO required by IT",
                        "customer_declines_sales_conversation": True,
                    },
                )
            ],
            end="purged",
            channel="portal",
        ),
        Script(
            "Japanese account (low value)",
            "SAKURA-JP",
            "hanako@sakura-design.example",
            "事業方針の変更により解約します。",
            [
                (
                    "verify",
                    {
                        "decided_by": "yuki.tanaka@example.com",
                        "reason": "policy_change",
                        "reason_detail": "社内ツールの統一",
                    },
                )
            ],
            end="purged",
        ),
        Script(
            "Malaysian account (cost)",
            "KAMPUNG-MY",
            "ahmad@kampung.example",
            "Kos terlalu tinggi untuk pasukan kecil kami.",
            [
                (
                    "verify",
                    {
                        "decided_by": "aisyah.rahman@example.com",
                        "reason": "cost",
                        "reason_detail": "Harga per pengguna terlalu tinggi",
                        "firm_decision": True,
                    },
                )
            ],
            end="purged",
            channel="portal",
        ),
    ]


def _payload(verb: str, p: dict[str, Any]) -> dict[str, Any]:
    if verb == "verify":
        return {"is_cancellation": True, **p}
    return p


def run_script(
    sc: Script, timeout: float, progress: Callable[[str], None] = lambda _: None
) -> dict[str, Any]:
    from offboard.service import decide, submit_request, wait_for
    from offboarding.cases import OffboardingError

    t0 = time.monotonic()
    req = CancellationRequest(
        account_id=sc.account_id,
        channel=sc.channel,
        requested_by=sc.requested_by,
        requested_at=datetime.now(UTC),
        reason_text=sc.reason_text,
        external_ref=f"DEMO-{sc.account_id}",
    )
    case_id = submit_request(req)["case_id"]
    sc.path.append("request")
    progress(f"case {case_id} opened")
    for verb, payload in sc.steps:
        prefix = {"verify": "verification", "save-outcome": "save", "approve": "approval"}[verb]
        wait_for(case_id, lambda c, p=prefix: (c.waiting_for or "").startswith(p), timeout)
        try:
            result = decide(case_id, verb, _payload(verb, payload), wait=timeout)
            sc.path.append(f"{verb}:{result.get('decision')}")
            progress(f"{verb}: {result.get('decision')}")
        except OffboardingError as exc:
            sc.path.append(f"{verb}:refused")
            progress(f"{verb}: refused")
            if "refused" not in str(exc):
                raise
    progress(f"waiting for {sc.end}")
    final = wait_for(case_id, lambda c: c.status == sc.end, timeout * 2)
    progress(final.status)
    return {
        "case_id": case_id,
        "account_id": sc.account_id,
        "title": sc.title,
        "path": path_taken(case_id),
        "status": final.status,
        "elapsed": round(time.monotonic() - t0, 1),
        "ok": final.status == sc.end,
    }


def path_taken(case_id: str) -> str:
    """The case's path, read back from the record: decisions, then the stages it went through."""
    from offboard.service import case_view

    v = case_view(case_id)
    path = ["acknowledged"] if v["acknowledged_at"] else []
    for d in v["decisions"]:
        label = d["kind"].replace("_outcome", "") if d["kind"] != "approval" else d["role"]
        path.append(f"{label}: {d['decision'] if d['accepted'] else 'refused'}")
    if v["save_decision"] and not v["save_decision"]["attempt"]:
        path.append("no save attempt")
    path += [
        f"{x['stage']}"
        for x in sorted(v["stages"], key=lambda x: x["due_at"])
        if x["status"] == "done"
    ]
    return " → ".join(path)


def run_demo(
    state_dir: Path, day_seconds: float, port: int | None, console: Console, as_json: bool
) -> list[dict[str, Any]]:
    from offboard.service import import_accounts
    from offboard.stack import Stack

    if state_dir.exists():
        shutil.rmtree(state_dir)
    stack = Stack(
        state_dir,
        prefect_port=port,
        day_seconds=day_seconds,
        extra_env={"OFFBOARDING_POLICY_FILE": str(SAMPLE / "demo_policy.yaml")},
    )
    rows: list[dict[str, Any]] = []
    try:
        with console.status("starting the embedded stack (Prefect server, S3, deployments)…"):
            stack.start()
        console.print(f"Prefect UI: [bold]{stack.ui_url}[/bold]")
        n = import_accounts(SAMPLE / "accounts.json")
        console.print(
            f"loaded {n} sample accounts; running {len(scripts())} cancellations "
            f"(one day = {day_seconds}s)…"
        )
        with _progress(console, as_json) as bars, ThreadPoolExecutor(max_workers=8) as pool:
            futures = []
            for sc in scripts():
                bar = bars.add_task(
                    f"{sc.account_id:12} {sc.title}", total=len(sc.steps) + 3, status="request"
                )

                def tick(status: str, bar=bar) -> None:  # noqa: ANN001
                    bars.update(bar, advance=1, status=status)

                futures.append((sc, pool.submit(_safe, run_script, sc, 240, tick)))
            rows = [f.result() | {"title": sc.title} for sc, f in futures]
        _summary(rows, stack, console, as_json)
        _dashboard(stack, console, as_json)
    finally:
        with console.status("stopping the stack…"):
            stack.stop()
    return rows


def _dashboard(stack: Any, console: Console, as_json: bool) -> None:
    """Issue 6: the dashboard of what the demo just did, and where its page and artifacts are."""
    from flows.dashboard_flow import dashboard_flow

    state = dashboard_flow(return_state=True)
    out, run_id = state.result(), state.state_details.flow_run_id
    keys = ", ".join(out["artifact_keys"].values())
    say = Console(stderr=True).print if as_json else console.print
    say(f"Dashboard page: [bold]{out['page']['local_path']}[/bold] (also {out['page']['s3_uri']})")
    say(f"Dashboard artifacts ({keys}): {stack.ui_url}/runs/flow-run/{run_id}")


def _progress(console: Console, quiet: bool) -> Progress:
    """One bar per scripted case: long demo work shows where each case is."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
    )


def _safe(fn: Callable, sc: Script, timeout: float, tick: Callable) -> dict[str, Any]:
    try:
        return fn(sc, timeout, tick)
    except Exception as exc:  # noqa: BLE001 - the summary shows what failed
        return {
            "case_id": "?",
            "account_id": sc.account_id,
            "path": " → ".join(sc.path),
            "status": f"error: {exc}",
            "elapsed": None,
            "ok": False,
        }


def _summary(rows: list[dict[str, Any]], stack: Any, console: Console, as_json: bool) -> None:
    import json

    if as_json:
        print(json.dumps({"cases": rows, "ui": stack.ui_url}, indent=2, default=str))
        return
    console.width = max(console.width, 170)
    t = Table(
        "case",
        "account",
        "scenario",
        "path taken",
        "final status",
        "elapsed s",
        title="Demo cancellations",
    )
    for r in rows:
        style = "green" if r["ok"] else "red"
        t.add_row(
            r["case_id"],
            r["account_id"],
            r["title"],
            r["path"],
            f"[{style}]{r['status']}[/{style}]",
            str(r["elapsed"]),
        )
    console.print(t)
    console.print(f"Prefect UI (while the stack runs; `make up` keeps it running): {stack.ui_url}")
    console.print(f"Messages written to the outbox: {stack.state_dir / 'outbox'}")
    console.print(f"Case details: OFFBOARDING_STATE_DIR={stack.state_dir} offboard show CASE")
