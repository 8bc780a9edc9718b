"""A Japanese and a Malay case taken through every message-sending step of the playbook (run
twice, as a rerun or resume would): exactly one message of each kind the path needs, each
in the account's language, signed by the owner, the invoice attached to the closure."""

from __future__ import annotations

import email
import email.policy
import json
from pathlib import Path

import pytest

from offboard.service import case_view
from offboarding.cases.store import get_case
from offboarding.settings import get_settings
from offboarding.storage.db import session_scope
from tasks import approvals, intake, stages
from tasks.messaging import send_message
from tests.integration.comms_env import comms_env, open_test_case

JA_PATH = [
    "verification_question",  # a support ticket: acknowledged with "cancel, or fix it?"
    "offboarding_plan",
    "export_ready",
    "access_change_notice",
    "exit_survey_invitation",
    "closure_confirmation",
    "internal_churn_notification",
]


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> Path:
    with comms_env(tmp_path, db_url):
        yield tmp_path


def run_path(case_id: str, knowledge_transfer: bool) -> None:
    intake.acknowledge.fn(case_id)
    with session_scope(get_settings().db_url) as s:
        case = get_case(s, case_id)
        case.reason = {"category": "bankruptcy", "detail": "破産手続き開始", "preventable": False}
        from datetime import date

        from offboarding.cases.store import get_account
        from offboarding.cases.timeline import plan_timeline

        account = get_account(s, case.account_id)
        case.plan = plan_timeline(account, date.today(), get_settings().policy()).to_dict()
        case.status = "awaiting_approval"
    approvals.start_offboarding.fn(case_id)
    links = [{"name": "usage.csv", "url": "https://s3.example/exports/usage.csv?sig=1&x=2"}]
    send_message.fn(
        case_id, "export_ready", extra={"export": {"links": links, "expires_on": "2030-01-01"}}
    )
    stages.knowledge_transfer.fn(case_id, knowledge_transfer)
    stages.access_reduction.fn(case_id)
    stages.final_billing.fn(case_id)
    stages.close_account.fn(case_id)
    stages.closure_communications.fn(case_id)
    stages.internal_closeout.fn(case_id)


@pytest.mark.parametrize(
    ("account_id", "locale", "channel", "kt", "expected", "greeting"),
    [
        ("SAKURA-JP", "ja", "support_ticket", False, JA_PATH, "佐藤 花子 様"),
        (
            "KAMPUNG-MY",
            "ms",
            "email",
            True,
            ["acknowledgement", "knowledge_transfer_offer", *JA_PATH[1:]],
            "Salam sejahtera Tuan/Puan Ahmad Ismail",
        ),
    ],
)
def test_each_kind_once_in_the_accounts_language(
    env: Path,
    account_id: str,
    locale: str,
    channel: str,
    kt: bool,
    expected: list[str],
    greeting: str,
) -> None:
    case_id = open_test_case(account_id, f"PATH-{account_id}", channel=channel)
    run_path(case_id, kt)
    run_path(case_id, kt)  # a rerun / resumed run repeats nothing
    messages = case_view(case_id)["messages"]
    assert sorted(m["kind"] for m in messages) == sorted(expected)
    assert {m["locale"] for m in messages if m["kind"] != "internal_churn_notification"} == {locale}
    assert {m["locale"] for m in messages if m["kind"] == "internal_churn_notification"} == {"en"}
    assert {m["status"] for m in messages} == {"sent"}

    outbox = env / "outbox"
    index = [json.loads(x) for x in (outbox / "index.jsonl").read_text().splitlines()]
    assert sorted(x["kind"] for x in index if x["case_id"] == case_id) == sorted(expected)
    for m in messages:
        mail = email.message_from_bytes(Path(m["file"]).read_bytes(), policy=email.policy.default)
        text = mail.get_body(("plain",)).get_content()
        html = mail.get_body(("html",)).get_content()
        if m["kind"] == "internal_churn_notification":  # to the team, in the team's language
            assert mail["Content-Language"] == "en" and 'lang="en"' in html
        else:
            assert mail["Content-Language"] == locale and f'lang="{locale}"' in html
            assert greeting in text, m["kind"]
        if m["kind"] == "closure_confirmation":
            (pdf,) = [p for p in mail.iter_attachments()]
            assert pdf.get_content_type() == "application/pdf"
            assert pdf.get_content().startswith(b"%PDF")
