"""`offboard demo`: the embedded stack, sample accounts, and scripted cancellations run to
their end with a compressed day, approved through the same resume API approvers use; then
the leaving customers' exit-survey replies, recorded as `offboard feedback` records them."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from offboard.demo.integrations import print_integrations
from offboard.demo.scripts import Script, decision_input, scripts
from offboard.demo.summary import print_dashboard, print_early_warning, print_summary
from offboard.vendor_sandbox.bundle import Sandboxes
from offboarding.domain import CancellationRequest

SAMPLE = Path(__file__).resolve().parents[2] / "offboarding" / "sample_data"
#: The input key prefix each scripted verb waits for.
WAITS_FOR = {
    "confirm-requester": "requester-confirmation",
    "verify": "verification",
    "save-outcome": "save",
    "approve": "approval",
}
#: The demo's deciders' personal API tokens, issued on first use (the demo is its own admin).
TOKENS: dict[str, dict[str, str]] = {}

#: Where a departed customer's case ends: only they are sent the exit survey.
DEPARTED = ("closed", "purged")
#: Accounts whose export report the demo keeps a copy of, to open afterwards (the purge
#: deletes the original): the Japanese one shows the localized report and its fonts.
KEEP_REPORTS = ("SAKURA-JP",)


def run_script(
    sc: Script, timeout: float, progress: Callable[[str], None] = lambda _: None
) -> dict[str, Any]:
    """Open the scripted request, take each decision once the run waits for it, and wait for
    the case to reach its scripted end."""
    from offboard.service import decide, submit_request, wait_for
    from offboard.service.exports import keep_report
    from offboard.service.outbox_codes import read_decision_mail
    from offboard.service.tokens import token_for
    from offboarding.cases.store import OffboardingError

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
        prefix = WAITS_FOR[verb]
        wait_for(case_id, lambda c, p=prefix: (c.waiting_for or "").startswith(p), timeout)
        try:
            if verb == "confirm-requester":  # the contact's code, entered by the case's owner
                mail = read_decision_mail(case_id, payload["decided_by"], "requester_confirmation")
                payload = {"decision": "confirm", **payload, "decision_code": mail["code"]}
                token = token_for(sc.handled_by, TOKENS)
            else:
                token = token_for(payload["decided_by"], TOKENS)  # each decider proves it
            result = decide(case_id, verb, decision_input(verb, payload), timeout, token)
            sc.path.append(f"{verb}:{result.get('decision')}")
            progress(f"{verb}: {result.get('decision')}")
        except OffboardingError as exc:
            sc.path.append(f"{verb}:refused")
            progress(f"{verb}: refused")
            if "refused" not in str(exc):
                raise
    report = keep_report(case_id, timeout=timeout) if sc.account_id in KEEP_REPORTS else None
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
        "report": report,
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


def answer_exit_surveys(done: list[tuple[Script, dict[str, Any]]]) -> dict[str, list[str]]:
    """Each departed customer's reply to the exit survey (§8) — answers, a no, or silence —
    recorded through the service `offboard feedback` uses. Cases by outcome; a reply that
    could not be recorded is listed under `failed` with why, and the demo goes on."""
    from offboard.service.feedback import record_feedback, survey_response

    out: dict[str, list[str]] = {"answered": [], "declined": [], "no_reply": [], "failed": []}
    for sc, row in done:
        if not row["ok"] or row["status"] not in DEPARTED:
            continue  # saved, not a cancellation, or failed: no exit survey
        case_id = row["case_id"]
        if not (sc.survey_answers or sc.declines_survey):
            out["no_reply"].append(case_id)
            continue
        survey = survey_response(case_id, sc.survey_answers, declined=sc.declines_survey)
        try:
            record_feedback(case_id, survey, None, sc.handled_by)
        except Exception as exc:  # noqa: BLE001 - the summary says what failed
            out["failed"].append(f"{case_id}: {exc}")
            continue
        out["declined" if sc.declines_survey else "answered"].append(case_id)
    return out


def run_demo(
    state_dir: Path,
    day_seconds: float,
    port: int | None,
    console: Console,
    as_json: bool,
    integrations: bool = True,
) -> list[dict[str, Any]]:
    """Start a fresh stack in state_dir (with every integration on against local vendor
    endpoints, unless told not to), run every script at once, record the survey replies,
    print the summary, the dashboard and the integrations, and always stop the stack."""
    if state_dir.exists():
        shutil.rmtree(state_dir)
    with ExitStack() as vendors:
        sb = vendors.enter_context(Sandboxes()) if integrations else None
        return _run(state_dir, day_seconds, port, console, as_json, sb)


def _run(
    state_dir: Path,
    day_seconds: float,
    port: int | None,
    console: Console,
    as_json: bool,
    sb: Sandboxes | None,
) -> list[dict[str, Any]]:
    from offboard.service import import_accounts
    from offboard.stack import Stack

    env = {"OFFBOARDING_POLICY_FILE": str(SAMPLE / "demo_policy.yaml")}
    stack = Stack(state_dir, prefect_port=port, day_seconds=day_seconds,
                  extra_env=env | (sb.env() if sb else {}))  # fmt: skip
    rows: list[dict[str, Any]] = []
    try:
        with console.status("starting the embedded stack (Prefect server, S3, deployments)…"):
            stack.start()
        console.print(f"Prefect UI: [bold]{stack.ui_url}[/bold]")
        n = import_accounts(SAMPLE / "accounts.json")
        with console.status("early warning: the daily at-risk scan, before anyone asks…"):
            warned = _safe_early_warning(console, as_json)
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
            done = [(sc, f.result() | {"title": sc.title}) for sc, f in futures]
        rows = [row for _, row in done]
        surveys = answer_exit_surveys(done)
        print_summary(rows, surveys, stack, console, as_json)
        print_early_warning(warned, stack, console, as_json)
        print_dashboard(stack, console, as_json)
        if sb is not None:
            print_integrations(sb, rows, console, as_json)
    finally:
        with console.status("stopping the stack…"):
            stack.stop()
    return rows


def _safe_early_warning(console: Console, as_json: bool) -> dict[str, Any]:
    """§14 before the cancellations: the scan, one alert, one karte (a failure is shown in
    the summary and the demo goes on)."""
    from offboard.demo.early_warning import run_early_warning

    try:
        return run_early_warning(console, as_json)
    except Exception as exc:  # noqa: BLE001 - the summary shows what failed
        return {"error": str(exc)}


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
