"""Won-back outcomes in our database (§13): who came back, after which outreach and signal,
and the win-back rate at 12, 24 and 36 months.

Functions take an open Session (callers own the transaction) and write their audit entries
in it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from offboarding.cases.store import OffboardingError, audit, get_case
from offboarding.domain import OutreachStatus
from offboarding.storage.db import utcnow
from offboarding.storage.models import CaseRow
from offboarding.storage.models.winback import WinbackOutcomeRow, WinbackOutreachRow
from offboarding.winback.rates import RateRow, winback_rates
from offboarding.winback.store.candidates import CHURNED
from offboarding.winback.store.outreach import get_outreach

__all__ = ["rates", "record_won_back"]


def record_won_back(
    session: Session,
    case_id: str,
    *,
    on: date,
    by: str,
    outreach: str | None = None,
    note: str = "",
) -> dict[str, Any]:
    """The account of this churned case came back; link the outreach and signal before it."""
    case = get_case(session, case_id)
    if case.status not in CHURNED or case.closed_on is None:
        raise OffboardingError(f"case {case_id} is {case.status}: only a churned case is won back")
    if on < case.closed_on:
        raise OffboardingError(f"won back on {on} is before the closure on {case.closed_on}")
    if session.get(WinbackOutcomeRow, case_id) is not None:
        raise OffboardingError(f"case {case_id} is already recorded as won back")
    if outreach is not None:
        o = get_outreach(session, outreach)
        if o.case_id != case_id:
            raise OffboardingError(f"outreach {outreach} belongs to case {o.case_id}")
    else:
        o = session.scalar(
            select(WinbackOutreachRow)
            .where(
                WinbackOutreachRow.case_id == case_id,
                WinbackOutreachRow.night <= on,
                WinbackOutreachRow.status.in_([str(OutreachStatus.sent), str(OutreachStatus.lead)]),
            )
            .order_by(WinbackOutreachRow.night.desc())
            .limit(1)
        )
    row = WinbackOutcomeRow(
        case_id=case_id,
        account_id=case.account_id,
        won_back_on=on,
        outreach_id=o.outreach_id if o else None,
        signal_id=o.signal_id if o else None,
        signal_type=o.signal_type if o else None,
        recorded_by=by,
        note=note,
        at=utcnow(),
    )
    session.add(row)
    audit(
        session,
        case_id,
        by,
        "won_back",
        f"{case.account_id} returned on {on}",
        f"after {o.signal_type} ({o.outreach_id})" if o else "no outreach recorded before",
    )
    return {
        "case_id": case_id,
        "account_id": case.account_id,
        "won_back_on": on.isoformat(),
        "outreach_id": row.outreach_id,
        "signal_id": row.signal_id,
        "signal_type": row.signal_type,
    }


def rates(session: Session, as_of: date, horizons: Iterable[int] = (12, 24, 36)) -> list[RateRow]:
    """Win-back rate at 12/24/36 months from the store (§13)."""
    churned = session.execute(
        select(CaseRow.case_id, CaseRow.closed_on).where(
            CaseRow.status.in_(CHURNED), CaseRow.closed_on.is_not(None)
        )
    ).all()
    won = dict(
        session.execute(select(WinbackOutcomeRow.case_id, WinbackOutcomeRow.won_back_on)).all()
    )
    return winback_rates([(c.closed_on, won.get(c.case_id)) for c in churned], as_of, horizons)
