"""Write the fixed dashboard dataset (tests/unit/dashboard/measures_fixtures) into a real
database, row by row through the ORM, so the loader can be checked against the pure measures."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from offboarding.domain import Account, Owner
from offboarding.feedback.patterns import feature_shipped_signal_id
from offboarding.storage.models import (
    AccountRow,
    CaseRow,
    ExportRow,
    MessageRow,
    SaveAttemptRow,
    StepRow,
)
from offboarding.storage.models.feedback import ExitFeedbackRow, ExitInterviewRow
from offboarding.storage.models.winback import WinbackOutcomeRow, WinbackSignalRow
from tests.unit.dashboard import measures_fixtures as fx

OWNER = Owner(name="Casey CSM", title="CSM", email="casey.csm@example.com", phone="+1 555 0100")


def account(account_id: str, contract_start: date = date(2020, 1, 1)) -> Account:
    name, segment, arr, strategic = fx.ACCOUNTS[account_id]
    return Account(
        account_id=account_id,
        name=name,
        segment=segment,
        arr=arr,
        strategic=strategic,
        contract_start=contract_start,
        contract_end=date(2030, 12, 31),
        owner=OWNER,
    )


def _date(v: str | None) -> date | None:
    return date.fromisoformat(v) if v else None


def seed_accounts(s: Session) -> None:
    for account_id in fx.ACCOUNTS:
        acc = account(account_id)
        s.add(
            AccountRow(
                account_id=account_id,
                name=acc.name,
                segment=str(acc.segment),
                arr=acc.arr,
                region="US",
                locale="en",
                data=acc.model_dump(mode="json"),
                updated_at=fx.AS_OF,
            )
        )
    s.flush()


def seed_cases(s: Session) -> None:
    for c in fx.CASES:
        reason = None
        if c["reason_category"]:
            reason = {
                "category": c["reason_category"],
                "detail": c["reason_detail"],
                "product_gap": c["product_gap"],
                "preventable": c["preventable"],
                "missed_warning_signs": c["missed_warning_signs"],
            }
        s.add(
            CaseRow(
                case_id=c["case_id"],
                account_id=c["account_id"],
                status=c["status"],
                channel="email",
                requested_by="someone@customer.example",
                requested_at=c["requested_at"],
                request={},
                reason=reason,
                acknowledged_at=c["acknowledged_at"],
                completed_at=c["completed_at"],
                closed_on=_date(c["closed_on"]),
                winback_candidate=c["winback_candidate"],
                winback_remind_on=_date(c["winback_remind_on"]),
                waiting_for=c["waiting_for"],
                decision_due=c["decision_due"],
                legal_hold=False,
                created_at=c["requested_at"],
                updated_at=c["requested_at"],
            )
        )
    s.flush()


def seed_all(s: Session) -> None:
    """Everything of the fixed dataset; returns go to winback_outcomes."""
    seed_accounts(s)
    seed_cases(s)
    steps, messages = fx._records()
    for st in steps:
        s.add(StepRow(case_id=st["case_id"], step=st["step"], result={}, done_at=fx.AS_OF))
    for m in messages:
        s.add(
            MessageRow(
                case_id=m["case_id"],
                kind=m["kind"],
                seq=1,
                to_addr="someone@customer.example",
                subject=m.get("subject", "old message"),
                locale="en",
                location=f"outbox/{m['case_id']}-{m['kind']}.eml",
                sent_at=m["sent_at"],
            )
        )
    for a in fx.SAVE_ATTEMPTS:
        s.add(SaveAttemptRow(led_by="csm@example.com", **a))
    for e in fx.EXPORTS:
        s.add(
            ExportRow(
                account_id="A?",
                status="delivered" if e["delivered_at"] else "running",
                **e,
            )
        )
    for f in fx.FEEDBACK:
        s.add(
            ExitFeedbackRow(
                **{
                    "main_reason": "",
                    "could_do_better": "",
                    "recommend_why": "",
                    **f,
                    "source": "test",
                    "recorded_at": fx.AS_OF,
                    "recorded_by": "test@example.com",
                    "data": {},
                }
            )
        )
    for i in fx.INTERVIEWS:
        s.add(ExitInterviewRow(**i, recorded_at=fx.AS_OF, recorded_by="test@example.com"))
    for sig in fx.SIGNALS:  # as `mark_fixed` writes them
        s.add(
            WinbackSignalRow(
                signal_id=feature_shipped_signal_id(sig["account_id"], sig["source_key"]),
                type=sig["kind"],
                account_id=sig["account_id"],
                codes=[],
                observed_at=sig["observed_at"],
                source=f"pattern:{sig['source_key']}",
                details={"pattern_id": sig["source_key"]},
                ingested_at=fx.AS_OF,
            )
        )
    case_of = {c["account_id"]: c["case_id"] for c in fx.CASES}
    for r in fx.RETURNS:
        s.add(
            WinbackOutcomeRow(
                case_id=case_of[r["account_id"]],
                account_id=r["account_id"],
                won_back_on=r["returned_on"].date(),
                recorded_by="test@example.com",
                note="",
                at=datetime.combine(r["returned_on"].date(), datetime.min.time()),
            )
        )
    s.flush()
