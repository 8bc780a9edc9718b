"""Whose message: a contact's account; an owner's; else the one account whose contacts share
the sender's domain; ambiguity, free mail or nothing goes to triage."""

from __future__ import annotations

import pytest

from offboarding.inbound.matching import CONTACT, DOMAIN, OWNER, match_account

ACCOUNTS = [
    ("ACME", {"contacts": [{"email": "ann@acme.example"}], "owner": {"email": "sam@us.example"}}),
    ("BETA", {"contacts": [{"email": "bo@beta.example"}, {"email": "pat@shared.example"}],
              "owner": {"email": "kim@us.example"}}),
    ("GAMMA", {"contacts": [{"email": "pat@shared.example"}, {"email": "gil@gmail.com"}],
               "owner": {"email": "kim@us.example"}}),
    ("DELTA", {"contacts": [{"email": "x@delta.example"}], "owner": {}}),
    ("DELTA2", {"contacts": [{"email": "y@delta.example"}]}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("sender", "account", "how", "why"),
    [
        ("Ann@Acme.example", "ACME", CONTACT, "contact of ACME"),
        ("sam@us.example", "ACME", OWNER, "owner of ACME"),
        ("kim@us.example", None, None, "several accounts"),
        ("pat@shared.example", None, None, "several accounts: BETA, GAMMA"),
        ("new.cfo@acme.example", "ACME", DOMAIN, "not one of them"),
        ("z@delta.example", None, None, "domain of several accounts"),
        ("gil@gmail.com", "GAMMA", CONTACT, "contact of GAMMA"),
        ("stranger@gmail.com", None, None, "free-mail"),
        ("who@nowhere.example", None, None, "no account has a contact at nowhere.example"),
        ("", None, None, "no sender"),
    ],
)
def test_match_account(sender: str, account: str | None, how: str | None, why: str) -> None:
    match = match_account(sender, ACCOUNTS)
    assert (match.account_id, match.how) == (account, how)
    assert why in match.why
