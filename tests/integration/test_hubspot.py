"""HubSpot at the internal close-out (§10) through the real `hubspot-api-client` against the
local HubSpot sandbox: the company marked churned, the timeline note and the win-back task,
each made once; 429 + Retry-After, 500s, 4xx, a lost worker and a lost answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hubspot import HubSpot

from offboard.vendor_sandbox.hubspot import HubSpotSandbox, Reply
from offboarding.cases.store import get_account, get_case, upsert_accounts
from offboarding.domain import Reason, ReasonCategory
from offboarding.integrations import hubspot_crm, ledger
from offboarding.integrations.closeout_rules import carries_key
from offboarding.integrations.errors import CallBlocked, VendorThrottled, VendorUnavailable
from offboarding.integrations.settings import integration_settings
from offboarding.settings import get_settings
from offboarding.storage.db import session_scope
from tasks import stages
from tasks.common import is_transient
from tasks.integrations import idempotency_key
from tests.integration.closeout_env import (
    age_claim,
    attention,
    call_row,
    closed_case,
    dies_before_done,
    outcomes,
    retried,
)
from tests.integration.comms_env import SAMPLE, comms_env

pytestmark = pytest.mark.integration

GAP = Reason(category=ReasonCategory.product_gap, detail="no SSO", product_gap="SSO")
CLOSURE = Reason(category=ReasonCategory.business_closure, detail="the bakery closed")


@pytest.fixture
def sb() -> Iterator[HubSpotSandbox]:
    with HubSpotSandbox() as server:
        server.seed_accounts(json.loads(SAMPLE.read_text()))
        yield server


@pytest.fixture
def env(tmp_path: Path, sb: HubSpotSandbox) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'offboarding.db'}"
    keys = {"HUBSPOT_ACCESS_TOKEN": sb.token, "OFFBOARDING_HUBSPOT_API_BASE": sb.url,
            "SLACK_BOT_TOKEN": "", "OFFBOARDING_SLACK_CHANNEL": ""}  # fmt: skip
    integration_settings.cache_clear()
    try:
        with comms_env(tmp_path, url, **keys):
            yield url
    finally:
        integration_settings.cache_clear()


def company_of(sb: HubSpotSandbox, account_id: str) -> str:
    (company,) = [
        c
        for c in sb.objects("companies")
        if c["properties"].get("offboarding_account_id") == account_id
    ]
    return company["id"]


def client(sb: HubSpotSandbox) -> HubSpot:
    return HubSpot(access_token=sb.token, host=sb.url)


def closeout(case_id: str) -> dict:
    return stages.internal_closeout.fn(case_id)


def test_churned_company_note_and_winback_task_read_back_once(env: str, sb: HubSpotSandbox) -> None:
    case_id = closed_case("ACME-SMB", "HS-HAPPY", GAP)
    for _ in range(2):  # a rerun or resume: the ledger answers, HubSpot hears nothing new
        result = closeout(case_id)
    with session_scope(env) as s:
        case = get_case(s, case_id)
        remind, closed = case.winback_remind_on, case.closed_on
    cid = company_of(sb, "ACME-SMB")
    company = client(sb).crm.companies.basic_api.get_by_id(
        cid, properties=["offboarding_status", "offboarding_churn_tags", "offboarding_churn_date",
                         "offboarding_arr_closed", "offboarding_winback_remind_on"],
    )  # fmt: skip
    assert company.properties["offboarding_status"] == "churned"
    assert company.properties["offboarding_churn_tags"] == "product_gap;gap:SSO"
    assert company.properties["offboarding_churn_date"] == closed.isoformat()
    assert company.properties["offboarding_arr_closed"] == "9600"
    assert company.properties["offboarding_winback_remind_on"] == remind.isoformat()

    (note,) = sb.objects("notes")
    assert note["associations"]["companies"]["results"][0]["id"] == cid
    body = note["properties"]["hs_note_body"]
    assert "Reason: product_gap (no SSO)" in body and "What happens next" in body
    assert carries_key(body, idempotency_key(case_id, "hubspot", "closeout_note"))

    (task,) = sb.objects("tasks")
    owner = client(sb).crm.owners.owners_api.get_page(email="sam.carter@example.com").results[0]
    assert task["properties"]["hubspot_owner_id"] == owner.id
    assert task["properties"]["hs_timestamp"] == f"{remind.isoformat()}T12:00:00Z"
    assert task["associations"]["companies"]["results"][0]["id"] == cid
    assert carries_key(
        task["properties"]["hs_task_body"], idempotency_key(case_id, "hubspot", "winback_task")
    )

    assert [(r.method, r.path.split("/")[-1]) for r in sb.requests if r.method != "GET"] == [
        ("POST", "search"),  # the company found by offboarding_account_id
        ("PATCH", cid),
        ("POST", "notes"),
        ("POST", "tasks"),
    ]
    assert result["vendors"]["hubspot"]["company"]["company_id"] == cid
    assert result["vendors"]["hubspot"]["task"]["owner_found"] is True
    for step in ("closeout_company", "closeout_note", "winback_task"):
        assert outcomes(case_id, "hubspot", step) == [("accepted", None)]
    assert attention(case_id) is None


def test_a_known_company_id_is_used_and_a_non_candidate_gets_no_task(
    env: str, sb: HubSpotSandbox
) -> None:
    cid = company_of(sb, "SOYLENT-EU")
    with session_scope(env) as s:
        account = get_account(s, "SOYLENT-EU").model_copy(
            update={"external_ids": {"hubspot_company": cid}}
        )
        upsert_accounts(s, [account])
    case_id = closed_case("SOYLENT-EU", "HS-KNOWN", CLOSURE)
    closeout(case_id)
    assert not sb.calls("POST", "/crm/v3/objects/companies/search"), "no search needed"
    assert sb.company(cid)["properties"]["offboarding_winback_candidate"] == "false"
    assert len(sb.objects("notes")) == 1 and sb.objects("tasks") == []
    assert call_row(case_id, "hubspot", "winback_task") is None


def test_429_waits_for_retry_after(env: str, sb: HubSpotSandbox) -> None:
    case_id = closed_case("ACME-SMB", "HS-429", GAP)
    sb.script([Reply.throttled(1, match="PATCH /crm/v3/objects/companies")])
    with pytest.raises(VendorThrottled) as first:
        closeout(case_id)
    assert is_transient(first.value) and first.value.retry_after == 1
    closeout(case_id)  # the task retry: the ledger holds it back until Retry-After has passed
    patches = sb.calls("PATCH", "/crm/v3/objects/companies")
    assert [p.status for p in patches] == [429, 200]
    gap = patches[1].at - patches[0].at
    assert gap >= 1.0, f"retried {gap:.2f}s after a 429 asking for 1s"
    assert outcomes(case_id, "hubspot", "closeout_company") == [
        ("throttled", 429),
        ("accepted", None),
    ]


def test_500_is_retried_and_makes_one_note(env: str, sb: HubSpotSandbox) -> None:
    case_id = closed_case("ACME-SMB", "HS-500", GAP)
    sb.script([Reply.error(500, match="POST /crm/v3/objects/notes"),
               Reply.error(503, match="POST /crm/v3/objects/notes")])  # fmt: skip
    retried(lambda: closeout(case_id))
    assert [r.status for r in sb.calls("POST", "/crm/v3/objects/notes")] == [500, 503, 201]
    assert len(sb.objects("notes")) == 1
    assert outcomes(case_id, "hubspot", "closeout_note") == [
        ("unavailable", 500),
        ("unavailable", 503),
        ("accepted", None),
    ]


def test_a_4xx_marks_the_case_with_hubspots_message_and_is_not_retried(
    env: str, sb: HubSpotSandbox
) -> None:
    sb.crm.schema["companies"].discard("offboarding_churn_tags")  # a portal without it
    case_id = closed_case("ACME-SMB", "HS-400", GAP)
    with pytest.raises(CallBlocked) as caught:
        retried(lambda: closeout(case_id))
    assert not is_transient(caught.value)
    why = attention(case_id)
    assert why.startswith("hubspot closeout_company: hubspot refused (400): Property values")
    assert "offboarding_churn_tags" in why and "PROPERTY_DOESNT_EXIST" in why
    assert len(sb.calls("PATCH", "/crm/v3/objects/companies")) == 1
    assert call_row(case_id, "hubspot", "closeout_company").status == "failed"
    # a later run (the sweeper) does not call again until a person releases it
    with pytest.raises(CallBlocked, match="offboard integrations release"):
        closeout(case_id)
    assert len(sb.calls("PATCH", "/crm/v3/objects/companies")) == 1
    assert sb.objects("notes") == []

    sb.crm.schema["companies"].add("offboarding_churn_tags")  # the property is created
    with session_scope(env) as s:
        ledger.release(s, call_row(case_id, "hubspot", "closeout_company").id)
    closeout(case_id)
    assert [p.status for p in sb.calls("PATCH", "/crm/v3/objects/companies")] == [400, 200]
    assert attention(case_id) is None and len(sb.objects("notes")) == 1


def test_no_company_for_the_account_needs_a_person(env: str, sb: HubSpotSandbox) -> None:
    case_id = closed_case("KAMPUNG-MY", "HS-NOCO", GAP)
    cid = company_of(sb, "KAMPUNG-MY")
    sb.crm.objects["companies"][cid]["properties"]["offboarding_account_id"] = "SOMEONE-ELSE"
    with pytest.raises(CallBlocked):
        closeout(case_id)
    assert "0 companies have offboarding_account_id=KAMPUNG-MY" in attention(case_id)
    assert not sb.calls("PATCH", "/crm/v3/objects/companies")


def test_a_lost_worker_after_the_patch_replays_it_with_the_same_values(
    env: str, sb: HubSpotSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = closed_case("ACME-SMB", "HS-LOST-PATCH", GAP)
    with monkeypatch.context() as mp:
        mp.setattr(ledger, "complete", dies_before_done("closeout_company"))
        with pytest.raises(SystemExit):
            closeout(case_id)
    assert call_row(case_id, "hubspot", "closeout_company").status == "calling"
    age_claim(case_id, "hubspot", "closeout_company")
    closeout(case_id)
    first, again = sb.calls("PATCH", "/crm/v3/objects/companies")
    assert first.body == again.body, "a PATCH is replay-safe: the same values again"
    assert len(sb.objects("notes")) == 1 and len(sb.objects("tasks")) == 1


def test_a_lost_worker_after_the_note_is_reconciled_never_a_second_note(
    env: str, sb: HubSpotSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = closed_case("ACME-SMB", "HS-LOST-NOTE", GAP)
    sb.add_company("Noise Ltd")  # the search filters by association, not by luck
    with monkeypatch.context() as mp:
        mp.setattr(ledger, "complete", dies_before_done("closeout_note"))
        with pytest.raises(SystemExit):
            closeout(case_id)
    assert len(sb.objects("notes")) == 1
    with pytest.raises(ledger.CallInFlight) as inflight:  # within the lease: maybe still going
        closeout(case_id)
    assert is_transient(inflight.value)
    age_claim(case_id, "hubspot", "closeout_note")
    closeout(case_id)
    assert len(sb.objects("notes")) == 1, "reconciled, not made again"
    assert len(sb.calls("POST", "/crm/v3/objects/notes/search")) == 1
    row = call_row(case_id, "hubspot", "closeout_note")
    assert row.status == "done" and row.result["reconciled"] is True
    assert row.result["note_id"] == sb.objects("notes")[0]["id"]
    assert len(sb.objects("tasks")) == 1


def test_a_lost_answer_to_the_task_is_reconciled_after_the_lease(
    env: str, sb: HubSpotSandbox
) -> None:
    case_id = closed_case("ACME-SMB", "HS-LOST-TASK", GAP)
    sb.script([Reply(201, act=True, drop=True, match="POST /crm/v3/objects/tasks")])
    with pytest.raises(hubspot_crm.OutcomeUnknown) as lost:
        closeout(case_id)
    assert is_transient(lost.value) and not isinstance(lost.value, VendorUnavailable)
    assert len(sb.objects("tasks")) == 1
    assert call_row(case_id, "hubspot", "winback_task").status == "calling"
    age_claim(case_id, "hubspot", "winback_task")
    closeout(case_id)
    creates = [r for r in sb.calls("POST", "/crm/v3/objects/tasks") if r.path.endswith("tasks")]
    assert len(sb.objects("tasks")) == 1 and len(creates) == 1
    assert len(sb.calls("POST", "/crm/v3/objects/tasks/search")) == 1
    assert call_row(case_id, "hubspot", "winback_task").result["reconciled"] is True


def test_off_without_a_token_the_closeout_is_what_it_was(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'off.db'}"
    integration_settings.cache_clear()
    try:
        with comms_env(tmp_path, url, HUBSPOT_ACCESS_TOKEN="", SLACK_BOT_TOKEN=""):
            case_id = closed_case("ACME-SMB", "HS-OFF", GAP)
            result = closeout(case_id)
            assert "vendors" not in result and result["crm"]["status"] == "churned"
            assert call_row(case_id, "hubspot", "closeout_company") is None
            assert hubspot_crm.check().startswith("HubSpot: off")
    finally:
        integration_settings.cache_clear()


def test_check_makes_one_read_only_call(env: str, sb: HubSpotSandbox) -> None:
    assert hubspot_crm.check() == f"HubSpot at {sb.url}: companies readable"
    assert [(r.method, r.path) for r in sb.requests] == [("GET", "/crm/v3/objects/companies")]
    sb.token = "pat-revoked"
    assert "NOT working" in hubspot_crm.check() and "401" in hubspot_crm.check()


def test_settings_reach_every_api_of_the_client(env: str, sb: HubSpotSandbox) -> None:
    crm = hubspot_crm.HubSpotCRM.from_settings()
    apis = [crm.client.crm.companies.basic_api, crm.client.crm.objects.notes.search_api,
            crm.client.crm.objects.tasks.basic_api, crm.client.crm.owners.owners_api]  # fmt: skip
    for api in apis:
        assert api.api_client.configuration.host == sb.url
    assert get_settings().db_url == env
