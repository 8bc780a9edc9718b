"""The trust boundary end to end, on the real Prefect server and the real web service: a
decision counts only with the decider's own proof (the code from their decision email, a
signed single-use link, or their personal API token); typing a role holder's email is not one."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from uuid import UUID

import httpx
import pytest

from offboard.service import _wait_until_paused, case_view, wait_for
from tests.e2e.conftest import budget, request, wait_waiting

pytestmark = pytest.mark.integration


def decision_email(case_id: str, person: str, after_seq: int = 0, kind: str = "decision_request"):
    from offboard.service.outbox_codes import read_decision_mail

    return read_decision_mail(case_id, person, kind, after_seq)


def resume(run_id: str, payload: dict) -> None:
    from prefect.flow_runs import resume_flow_run

    _wait_until_paused(run_id)
    resume_flow_run(UUID(run_id), run_input=payload)


def test_a_role_holders_email_without_their_proof_is_refused_and_the_run_still_waits(stack):
    owner = "dana.lee@example.com"  # INITECH-MM's owner: the one asked to verify
    opened = request("INITECH-MM", "peter@initech.example", "E2E-TRUST-1", "too expensive")
    case_id, run_id = opened["case_id"], opened["flow_run_id"]
    wait_waiting(case_id, "verification")
    first = decision_email(case_id, owner)
    assert first["to"] == owner  # her code goes to her only

    typed = {"decided_by": owner, "is_cancellation": True, "reason": "cost"}
    resume(run_id, typed)  # the Prefect UI form, filled in without the code
    case = wait_waiting(case_id, "verification-2")
    assert case.status == "awaiting_verification"
    from tests.e2e.test_offboarding_flow import flow_run

    _wait_until_paused(run_id)  # it suspends again, asking anew: nothing proceeded
    assert flow_run(run_id).state.is_paused()
    view = case_view(case_id)
    (refused,) = [d for d in view["decisions"] if not d["accepted"]]
    assert refused["by"] == owner and "identity not proven: missing code" in refused["why"]

    # the code of the first wait is spent with it: a re-asked decision has new codes
    resume(run_id, {**typed, "decision_code": first["code"]})
    wait_waiting(case_id, "verification-3")
    assert "wrong code" in case_view(case_id)["decisions"][-1]["why"]

    # the code from the email of this wait, typed into the UI form, proves her
    latest = decision_email(case_id, owner, after_seq=first["seq"] + 1)
    resume(run_id, {**typed, "decision_code": latest["code"]})
    wait_for(
        case_id, lambda c: not (c.waiting_for or "").startswith("verification"), budget(runs=3)
    )
    view = case_view(case_id)
    accepted = [d for d in view["decisions"] if d["accepted"]]
    assert accepted and accepted[0]["key"] == "verification-3"
    assert accepted[0]["proven_by"] == "code" and accepted[0]["by"] == owner
    proofs = [a for a in view["audit"] if a["action"] == "proof_refused"]
    assert len(proofs) == 2


def test_a_decision_link_opens_the_case_and_a_browser_approves_through_it(stack, tmp_path):
    owner = "yuki.tanaka@example.com"  # SAKURA-JP's owner
    opened = request("SAKURA-JP", "hanako@sakura-design.example", "E2E-TRUST-2", "料金が高い")
    case_id = opened["case_id"]
    wait_waiting(case_id, "verification")
    mail = decision_email(case_id, owner)
    link = mail["link"]
    assert link and link.startswith(stack.web_url)

    page = httpx.get(link, timeout=30)
    assert page.status_code == 200
    for shown in ("Sakura", "hanako@sakura-design.example", "authorised contact", "料金が高い"):
        assert shown in page.text
    assert "no-store" in page.headers["cache-control"]
    # a GET never acts: the case still waits
    assert case_view(case_id)["waiting_for"]["input_key"] == "verification"
    # a link signed by anyone else, or altered, is refused
    forged = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    bad = httpx.get(forged, timeout=30)
    assert bad.status_code == 403 and "not valid" in bad.text

    from playwright.sync_api import sync_playwright

    from tests.integration.test_dashboard_page import chromium  # the same browser lookup

    shot = tmp_path / "decision-page.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium(),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        tab = browser.new_page()
        tab.goto(link)
        tab.check("input[name=is_cancellation][value=yes]")
        tab.select_option("#reason", "cost")
        tab.fill("#reason_detail", "price per seat too high")
        tab.click("#submit")
        tab.wait_for_selector("#done, #error", timeout=180_000)
        tab.screenshot(path=str(shot), full_page=True)
        text = tab.inner_text("body")
        browser.close()
    assert "Decision recorded" in text, text
    assert shot.stat().st_size > 5_000
    view = case_view(case_id)
    (decided,) = [d for d in view["decisions"] if d["key"] == "verification"]
    assert decided["accepted"] and decided["by"] == owner
    assert decided["proven_by"] == "link"

    again = httpx.get(link, timeout=30)  # single use: the run moved on
    assert again.status_code == 410


def trust_account(tmp_path: Path, account_id: str) -> dict:
    """An account of its own (no other test's open case joins it): an admin who may cancel,
    a VP who may not; Dana owns it."""
    base = account_id.lower()
    acct = {
        "account_id": account_id,
        "name": f"{account_id.title()} Ltd",
        "segment": "smb",
        "arr": 8400,
        "contract_start": "2024-01-01",
        "contract_end": "2027-12-31",
        "prepaid_amount": 700,
        "owner": {
            "name": "Dana Lee",
            "title": "Customer Success Manager",
            "email": "dana.lee@example.com",
            "phone": "+1 415 555 0199",
        },
        "contacts": [
            {"name": "Ada Admin", "email": f"ada@{base}.example", "role": "admin"},
            {"name": "Vic Vp", "email": f"vic@{base}.example", "role": "VP"},
        ],
    }
    path = tmp_path / f"{account_id}.json"
    path.write_text(json.dumps([acct]), encoding="utf-8")
    from offboard.service import import_accounts

    import_accounts(path)
    return acct


def sent_kinds(case_id: str) -> list[str]:
    return [m["kind"] for m in case_view(case_id)["messages"]]


def messages_to(case_id: str, person: str) -> list[dict]:
    return [m for m in case_view(case_id)["messages"] if person in m["to"]]


def test_a_strangers_request_waits_for_the_account_and_tells_the_stranger_nothing(stack, tmp_path):
    from offboard.service import decide as service_decide
    from offboard.service import list_cases
    from offboard.service.outbox_codes import read_decision_mail
    from tests.e2e.conftest import decide, token

    acct = trust_account(tmp_path, "TRUSTC")
    stranger, admin, vp = "mallory@mail.example", "ada@trustc.example", "vic@trustc.example"
    opened = request("TRUSTC", stranger, "E2E-TRUST-C", "please cancel our plan")
    case_id = opened["case_id"]
    case = wait_waiting(case_id, "requester-confirmation")
    assert case.status == "awaiting_requester_confirmation"
    listed = {c["case_id"]: c for c in list_cases()}
    assert listed[case_id]["requester_standing"] == "not a contact of the account"

    # the stranger hears only that the request was received: no link, amount, date or name
    ack = read_decision_mail(case_id, stranger, "request_received")
    assert ack["link"] is None and "http" not in ack["text"]
    assert acct["name"] not in ack["text"] and "8,400" not in ack["text"]
    assert not re.search(r"\b20\d\d\b", ack["text"]), ack["text"]
    # the admin gets the confirmation (code and link); the VP, without authority, nothing
    confirmation = read_decision_mail(case_id, admin, "requester_confirmation")
    assert confirmation["code"] and confirmation["link"]
    assert messages_to(case_id, vp) == []

    # the VP cannot confirm: not an authorised contact (and has no code of his own)
    # (the owner enters answers with her own token; the contact is proven by the code)
    payload = {"decided_by": vp, "decision_code": confirmation["code"], "decision": "confirm"}
    service_decide(
        case_id, "confirm-requester", payload, budget(runs=2), token("dana.lee@example.com")
    )
    wait_waiting(case_id, "requester-confirmation-2")

    # the admin's answer, entered by the owner with the admin's code from the new email
    fresh = read_decision_mail(case_id, admin, "requester_confirmation", confirmation["seq"])
    service_decide(
        case_id,
        "confirm-requester",
        {"decided_by": admin, "decision_code": fresh["code"], "decision": "confirm"},
        budget(runs=2),
        token("dana.lee@example.com"),
    )
    wait_waiting(case_id, "verification")
    view = case_view(case_id)
    assert "confirmed by " + admin in view["requester_standing"]
    decide(case_id, "verify", {"decided_by": "dana.lee@example.com", "is_cancellation": True,
                               "reason": "cost", "firm_decision": True})  # fmt: skip
    wait_for(case_id, lambda c: c.status in ("offboarding", "closed", "purged"), budget(runs=4))

    def plans(_case=None) -> list[dict]:  # noqa: ANN001 - the plan goes out just after the status
        return [m for m in case_view(case_id)["messages"] if m["kind"] == "offboarding_plan"]

    wait_for(case_id, plans, budget(runs=2))
    # account data went to the authorised contact (and the confirmed requester), never the VP
    plan = plans()
    assert plan and admin in plan[0]["to"] and vp not in plan[0]["to"]


def test_this_wasnt_us_ends_the_case_and_tells_owner_and_security(stack, tmp_path):
    trust_account(tmp_path, "TRUSTD")
    stranger, admin = "eve@mail.example", "ada@trustd.example"
    opened = request("TRUSTD", stranger, "E2E-TRUST-D", "cancel now")
    case_id = opened["case_id"]
    wait_waiting(case_id, "requester-confirmation")
    link = decision_email(case_id, admin, kind="requester_confirmation")["link"]
    page = httpx.get(link, timeout=30)
    assert page.status_code == 200 and stranger in page.text
    done = httpx.post(link, data={"decision": "deny", "comment": "not us"}, timeout=240)
    assert done.status_code == 200, done.text
    # a busy run answers with "on its way" and a page that refreshes to the outcome
    text, deadline = done.text, time.monotonic() + budget(runs=4)
    while 'id="pending"' in text and time.monotonic() < deadline:
        time.sleep(3)
        text = httpx.get(link.split("?")[0] + "/outcome", timeout=60).text
    assert "Decision recorded" in text, text
    case = wait_for(case_id, lambda c: c.status == "refused_by_account", budget(runs=2))
    assert case.waiting_for is None
    # the notice follows the status
    wait_for(case_id, lambda c: "requester_refused" in sent_kinds(c.case_id), budget(runs=2))
    refused = [m for m in case_view(case_id)["messages"] if m["kind"] == "requester_refused"]
    assert refused and "security@example.com" in refused[0]["to"]
    assert "dana.lee@example.com" in refused[0]["to"]
    assert messages_to(case_id, stranger)[0]["kind"] == "request_received"
    assert len(messages_to(case_id, stranger)) == 1


def test_no_answer_in_time_ends_the_case_as_unconfirmed(stack, tmp_path):
    from tests.e2e.conftest import restart_runner, write_policy
    from tests.e2e.test_offboarding_flow import flow_run

    trust_account(tmp_path, "TRUSTE")
    fast = write_policy(tmp_path / "fast.yaml", 2000, confirmation_days=20)  # 20 x 0.25 s
    restart_runner(stack, OFFBOARDING_POLICY_FILE=str(fast))
    try:
        opened = request("TRUSTE", "trudy@mail.example", "E2E-TRUST-E", "cancel")
        case_id = opened["case_id"]
        case = wait_for(case_id, lambda c: c.status == "unconfirmed", budget(runs=3))
        assert case.waiting_for is None
        # the owner's notice follows the status
        wait_for(
            case_id, lambda c: "requester_unconfirmed" in sent_kinds(c.case_id), budget(runs=2)
        )
        kinds = [m["kind"] for m in case_view(case_id)["messages"]]
        assert kinds.count("requester_unconfirmed") == 1
        assert "offboarding_plan" not in kinds and "acknowledgement" not in kinds
        deadline = time.monotonic() + budget(runs=1)
        while not flow_run(opened["flow_run_id"]).state.is_cancelled():
            assert time.monotonic() < deadline, "the waiting run was not cancelled"
            time.sleep(1)
    finally:
        restart_runner(stack, OFFBOARDING_POLICY_FILE=str(stack.state_dir / "policy.yaml"))


def test_a_purge_erases_the_case_from_prefects_own_database(stack, tmp_path):
    import sqlite3

    from tests.e2e.conftest import decide
    from tests.e2e.test_offboarding_flow import stage_done

    trust_account(tmp_path, "TRUSTP")
    words = "Harga per pengguna terlalu tinggi TRUSTP-7731"
    requester = "ada@trustp.example"
    opened = request("TRUSTP", requester, "E2E-TRUST-P", words)
    case_id = opened["case_id"]
    wait_waiting(case_id, "verification")
    decide(case_id, "verify", {"decided_by": "dana.lee@example.com", "is_cancellation": True,
                               "reason": "cost", "reason_detail": words,
                               "firm_decision": True})  # fmt: skip
    prefect_db = stack.state_dir / "prefect" / "prefect.db"

    def found(text: str) -> list[str]:
        with sqlite3.connect(prefect_db) as conn:
            hits = []
            for table, column in (("flow_run_input", "value"), ("artifact", "data"),
                                  ("artifact", "description"), ("log", "message")):  # fmt: skip
                rows = conn.execute(
                    f"SELECT count(*) FROM {table} WHERE CAST({column} AS TEXT) LIKE ?",
                    (f"%{text}%",),
                ).fetchone()
                if rows[0]:
                    hits.append(f"{table}.{column}")
            return hits

    assert found("TRUSTP-7731")  # before the purge the orchestrator holds the customer's words
    wait_for(case_id, stage_done("purge"), budget(days=105, runs=4))
    assert found("TRUSTP-7731") == [] and found(requester) == []
    purged = next(x["result"] for x in case_view(case_id)["steps"] if x["step"] == "purge")
    from offboard.service.exports import deletion_certificate

    orchestrator = deletion_certificate(case_id, 1)["certificate"]["orchestrator_erased"]
    # the customer's words are gone from Prefect (checked above in its own database), and the
    # certificate counts them: every try's deletions are added up, so a retried erase that
    # found them already gone still certifies what the earlier try deleted
    assert orchestrator["flow_runs"] > 0 and orchestrator["run_inputs_deleted"] > 0
    assert orchestrator["left"]
    assert purged["purged"] is True
