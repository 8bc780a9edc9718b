"""What a decider reads before choosing (the decision page, the run's artifact, the form): the
account, its ARR, the requester and their standing, the reason in the customer's words, what
this decision will cause, and for the verification and save decisions the account's retention
karte (§14, seed 003: its pattern's talk track and offer). Pure: plain values in, label/value
rows out."""

from __future__ import annotations

from collections.abc import Sequence

from offboarding.domain import Account

#: What a decision on each kind of wait will cause.
CONSEQUENCES = {
    "requester": "Confirm lets the request go on to verification; deny closes it as refused by "
    "the account and tells the owner and security. Nothing else happens either way.",
    "verification": "Confirms (or not) that this is a cancellation and records its reason; "
    "a confirmed cancellation goes on to the save decision and the plan.",
    "save": "Records the save conversation: 'saved' keeps the customer; otherwise offboarding "
    "goes on.",
    "approval": "Approve lets the plan go ahead (export, access wind-down, closure); reject "
    "escalates the case and nothing proceeds.",
}


def decision_brief(
    account: Account,
    case_id: str,
    status: str,
    requested_by: str,
    standing: str,
    words: str,
    input_key: str,
    karte: Sequence[Sequence[str]] = (),
) -> list[tuple[str, str]]:
    """The brief's rows; `karte` rows (label, value) follow, for whoever takes the call."""
    return [
        ("Case", case_id),
        ("Account", f"{account.name} ({account.account_id}, {account.segment})"),
        ("ARR", f"{account.arr:,.0f} {account.currency}"),
        ("Requester", f"{requested_by} — {standing}"),
        ("In the customer's words", words or "—"),
        ("Status", status),
        ("Waiting for", input_key),
        ("This decision", CONSEQUENCES.get(input_key.split("-")[0], "")),
        *((str(label), str(value)) for label, value in karte),
    ]
