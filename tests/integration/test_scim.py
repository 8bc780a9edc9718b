"""SCIM 2.0 through the real `scim2-client` against the local service provider: users of the
account deactivated at access reduction and deleted at deactivation, each exactly once
(one ledger step per user), 429 Retry-After waited, 500 retried, a 4xx needs a person, and a
lost worker replayed without a second effect."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from offboard.vendor_sandbox.scim import Reply, ScimSandbox
from offboarding.cases.store import get_case, set_status
from offboarding.domain import CaseStatus
from offboarding.integrations import ledger
from offboarding.integrations.errors import CallBlocked, VendorThrottled, VendorUnavailable
from offboarding.integrations.settings import integration_settings
from offboarding.settings import get_settings
from offboarding.storage.db import session_scope, utcnow
from offboarding.storage.models.integrations import VendorCallRow
from tasks import stages
from tasks.deactivation_checklist import deactivation_checklist
from tasks.vendor_scim import deactivate_directory_users
from tests.integration.comms_env import comms_env, give_plan_and_invoice, open_test_case

pytestmark = pytest.mark.integration
ACME = ["ann@acme-bakeries.example", "bob@acme-bakeries.example", "cara@acme-bakeries.example"]


@pytest.fixture
def sb() -> Iterator[ScimSandbox]:
    with ScimSandbox(page_size=2) as server:  # 3 ACME users: two pages
        yield server


@pytest.fixture
def env(tmp_path: Path, sb: ScimSandbox) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'offboarding.db'}"
    with comms_env(tmp_path, url, OFFBOARDING_SCIM_URL=sb.url, OFFBOARDING_SCIM_TOKEN=sb.token):
        integration_settings.cache_clear()
        yield url
    integration_settings.cache_clear()


def case_with_plan(ref: str) -> str:
    case_id = open_test_case("ACME-SMB", ref)
    give_plan_and_invoice(case_id)
    return case_id


def acme(sb: ScimSandbox) -> list[dict]:
    return [sb.user_of("ACME-SMB", e) for e in ACME]


def attention(case_id: str) -> str | None:
    with session_scope(get_settings().db_url) as s:
        return get_case(s, case_id).needs_attention


def test_access_reduction_deactivates_the_accounts_users_once(env, sb) -> None:
    case_id = case_with_plan("scim-1")
    done = stages.access_reduction.fn(case_id)

    assert done["read_and_export"] == "active"  # the existing keys stay
    # Ann, the owner, is an authorised contact: she exports and migrates, so §5 keeps her
    # access until closure; the others lose it now
    assert done["directory"]["users"] == 2 and len(done["directory"]["call_ids"]) == 2
    assert done["directory"]["kept_until_closure"] == 1
    assert done["directory"]["filter"] == 'externalId sw "ACME-SMB:"'
    assert [u["active"] for u in acme(sb)] == [True, False, False]
    assert sb.user_of("GLOBEX-ENT", "hank@globex.example")["active"] is True  # not theirs
    patch = sb.of("PATCH")[0].payload
    assert patch["Operations"] == [{"op": "replace", "path": "active", "value": False}]
    assert all(r.headers["authorization"] == f"Bearer {sb.token}" for r in sb.requests)

    stages.access_reduction.fn(case_id)  # the stage again: its step is recorded
    deactivate_directory_users(case_id)  # the ledger again: every user done
    assert len(sb.of("PATCH")) == 2


def test_429_waits_for_retry_after_and_500_is_retried(env, sb) -> None:
    case_id = case_with_plan("scim-2")
    sb.script([Reply(429, {"Retry-After": "1"})], method="PATCH")
    with pytest.raises(VendorThrottled):
        deactivate_directory_users(case_id)
    throttled_at = sb.of("PATCH")[-1].at
    sb.script([Reply(500, detail="directory down")], method="PATCH")
    with pytest.raises(VendorUnavailable, match="directory down"):
        deactivate_directory_users(case_id)  # waited out the Retry-After first
    assert sb.of("PATCH")[-1].at - throttled_at >= 0.9
    deactivate_directory_users(case_id)  # the task's retry
    assert [u["active"] for u in acme(sb)] == [True, False, False]
    assert len(sb.of("PATCH")) == 4  # 429, 500, then one accepted PATCH per user but Ann


def test_a_4xx_needs_a_person_with_the_vendors_detail_and_is_not_retried(env, sb) -> None:
    case_id = case_with_plan("scim-3")
    sb.script([Reply(403, detail="token lacks users:write")], method="PATCH")
    with pytest.raises(CallBlocked):
        deactivate_directory_users(case_id)
    assert "token lacks users:write" in attention(case_id)
    with pytest.raises(CallBlocked):
        deactivate_directory_users(case_id)
    assert len(sb.of("PATCH")) == 1


def test_a_refused_user_list_needs_a_person(env, sb) -> None:
    case_id = case_with_plan("scim-4")
    sb.script([Reply(400, detail="Unsupported filter")], method="GET")
    with pytest.raises(CallBlocked):
        deactivate_directory_users(case_id)
    assert "Unsupported filter" in attention(case_id)


def test_a_lost_worker_is_replayed_without_a_second_effect(env, sb) -> None:
    case_id = case_with_plan("scim-5")
    deactivate_directory_users(case_id)
    first = acme(sb)[1]  # Bob (Ann keeps her access until closure)
    version = first["meta"]["version"]
    lapsed = utcnow() - timedelta(seconds=ledger.LEASE_SECONDS + 1)
    with session_scope(get_settings().db_url) as s:  # the worker died before `done`
        s.execute(update(VendorCallRow).where(VendorCallRow.step == f"deactivate:{first['id']}")
                  .values(status="calling", claim_token="lost", claimed_at=lapsed))  # fmt: skip
    deactivate_directory_users(case_id)
    assert len(sb.of("PATCH")) == 3  # replayed once, for that user only
    assert acme(sb)[1]["meta"]["version"] == version  # the same state: no second effect
    with session_scope(get_settings().db_url) as s:
        row = ledger.find(s, "scim", case_id, f"deactivate:{first['id']}")
        assert row.status == "done"


def test_deactivation_deletes_users_and_records_the_checklist_with_evidence(env, sb) -> None:
    case_id = case_with_plan("scim-6")
    with session_scope(get_settings().db_url) as s:
        set_status(s, get_case(s, case_id), CaseStatus.closed, "test")
    del sb.users[acme(sb)[0]["id"]]  # removed in the product meanwhile: not listed, not asked
    done = stages.deactivation.fn(case_id)

    for system in stages.SYSTEMS:
        assert done[system] == "revoked"  # the keys as before
    admin = done["checklist"]["admin_portal"]
    assert admin["done"] == "2 users deleted from the SCIM directory"
    assert len(admin["evidence"]["call_ids"]) == 2
    assert done["checklist"]["mail_groups"] == {
        "done": "access revoked", "evidence": "recorded in our database"}  # fmt: skip
    assert acme(sb) == [None, None, None]
    stages.deactivation.fn(case_id)
    assert len(sb.of("DELETE")) == 2


def test_a_delete_answered_404_counts_as_done(env, sb) -> None:
    case_id = case_with_plan("scim-7")
    users = acme(sb)
    sb.script([Reply(404, detail="Resource not found")], method="DELETE")
    result = deactivation_checklist(case_id, stages.SYSTEMS)
    assert result["checklist"]["admin_portal"]["evidence"]["users"] == 3
    with session_scope(get_settings().db_url) as s:
        row = ledger.find(s, "scim", case_id, f"delete:{users[0]['id']}")
        assert (row.status, row.result["status"]) == ("done", 404)


def test_with_scim_off_the_embedded_default_is_unchanged(tmp_path: Path, sb) -> None:
    url = f"sqlite:///{tmp_path / 'off.db'}"
    with comms_env(tmp_path, url, OFFBOARDING_SCIM_URL="", OFFBOARDING_SCIM_TOKEN=""):
        integration_settings.cache_clear()
        try:
            case_id = case_with_plan("scim-8")
            done = stages.access_reduction.fn(case_id)
            assert "directory" not in done
            checklist = deactivation_checklist(case_id, stages.SYSTEMS)["checklist"]
            assert checklist["admin_portal"]["evidence"] == "recorded in our database"
        finally:
            integration_settings.cache_clear()
    assert sb.requests == []
