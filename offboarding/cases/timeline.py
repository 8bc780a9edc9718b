"""§5 timeline planner: the default plan, adapted to the agreed date and the contract.

Day 1 is the day the cancellation is confirmed. Export first (days 1–3), knowledge transfer
(4–7), access reduced step by step (8–14), final invoice and closure (15), deactivation (16+).
A wished date moves closure; a notice period holds it back unless legal waives it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta

from offboarding.domain import Account, BillingPeriod
from offboarding.policy import Policy


class PlanError(ValueError):
    """The requested timeline breaks a rule; the message says which and what would fix it."""


@dataclass(frozen=True)
class OffboardingPlan:
    confirmed_on: date
    export_due: date
    knowledge_transfer_from: date
    knowledge_transfer_until: date
    access_reduction_on: date
    closure_on: date
    deactivation_on: date
    purge_on: date
    backups_expire_on: date
    notice_end: date
    notice_waived: bool
    early_termination: bool
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        d = asdict(self)
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in d.items()}

    def stage_dates(self) -> dict[str, date]:
        """The later stages the flow schedules as deployment runs."""
        return {
            "access_reduction": self.access_reduction_on,
            "closure": self.closure_on,
            "deactivation": self.deactivation_on,
            "purge": self.purge_on,
        }


def day(confirmed_on: date, n: int) -> date:
    """Day n of the plan, day 1 being the confirmation day."""
    return confirmed_on + timedelta(days=n - 1)


def add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    for dd in (d.day, 30, 29, 28):
        try:
            return date(year, month, dd)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def plan_timeline(
    account: Account,
    confirmed_on: date,
    policy: Policy,
    wished_date: date | None = None,
    waive_notice: bool = False,
    allow_past_contract_end: bool = False,
) -> OffboardingPlan:
    t = policy.timeline
    notes: list[str] = []
    default_closure = day(confirmed_on, t.closure_day)
    notice_end = confirmed_on + timedelta(days=account.notice_period_days)
    closure = wished_date or default_closure
    if wished_date is None and closure > account.contract_end:
        closure = max(account.contract_end, confirmed_on)
        notes.append(f"default closure moved to the contract end {account.contract_end}")

    if closure < confirmed_on:
        raise PlanError(f"closure date {closure} is in the past (confirmed {confirmed_on})")
    if closure > account.contract_end and not allow_past_contract_end:
        raise PlanError(
            f"closure date {closure} is past the contract end {account.contract_end}; "
            "it needs a waiver to extend beyond the contract"
        )
    notice_waived = False
    if closure < notice_end:
        if waive_notice:
            notice_waived = True
            notes.append(f"notice period of {account.notice_period_days} days waived")
        else:
            notes.append(f"closure moved to the end of the notice period {notice_end}")
            closure = notice_end
            if closure > account.contract_end and not allow_past_contract_end:
                closure = account.contract_end
    if wished_date and closure == wished_date:
        notes.append("closure on the date the customer asked for")

    export_due = min(day(confirmed_on, t.export_days[1]), closure)
    kt_from = min(day(confirmed_on, t.knowledge_transfer_days[0]), closure)
    kt_until = min(day(confirmed_on, t.knowledge_transfer_days[1]), closure)
    # Access is reduced a week before closure when the customer needs migration time,
    # never later than closure itself: "your access stays active until ...".
    reduction_gap = t.closure_day - t.access_reduction_day
    access_reduction = max(
        min(day(confirmed_on, t.access_reduction_day), closure),
        closure - timedelta(days=reduction_gap),
    )
    access_reduction = min(max(access_reduction, confirmed_on), closure)
    deactivation = closure + timedelta(days=t.deactivation_day - t.closure_day)
    purge = closure + timedelta(days=policy.retention.retention_days)
    early = closure < account.contract_end and account.billing_period != BillingPeriod.monthly
    if early:
        notes.append(f"early termination before the contract end {account.contract_end}")
    return OffboardingPlan(
        confirmed_on=confirmed_on,
        export_due=export_due,
        knowledge_transfer_from=kt_from,
        knowledge_transfer_until=kt_until,
        access_reduction_on=access_reduction,
        closure_on=closure,
        deactivation_on=deactivation,
        purge_on=purge,
        backups_expire_on=add_months(purge, policy.retention.backup_months),
        notice_end=notice_end,
        notice_waived=notice_waived,
        early_termination=early,
        notes=tuple(notes),
    )
