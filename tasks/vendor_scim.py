"""The product's SCIM directory at access reduction (§5 day 8) and deactivation (§10).

One ledger step per user (`deactivate:<user id>`, `delete:<user id>`), each through
`call_once`: a worker killed half-way repeats nothing already done, and PATCH/DELETE are
replay-safe, so a call left `calling` is simply made again. The user list is a read (not
ledgered): it is asked again on every run, which also catches users added since.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from offboarding.cases.store import audit, get_account, get_case
from offboarding.comms.ledger import flag_case
from offboarding.integrations import ledger, scim_directory
from offboarding.integrations.errors import CallBlocked, VendorRefused, VendorThrottled
from tasks.common import db
from tasks.integrations import ACTOR, MAX_INLINE_WAIT, call_once

VENDOR = scim_directory.VENDOR
T = TypeVar("T")


def deactivate_directory_users(case_id: str) -> dict[str, Any]:
    """§5 day 8: the account's users deactivated (`active` false) in the directory, except its
    authorised contacts: §5 reduces access step by step and never cuts it mid-migration, and
    those who export and migrate keep it until closure ("your access stays active until")."""
    from offboarding.settings import get_settings
    from offboarding.trust.standing import authorised_contacts

    with db() as s:
        account = get_account(s, get_case(s, case_id).account_id)
    keep = {
        e.lower()
        for e in authorised_contacts(account, get_settings().policy().trust.authorised_roles)
    }
    return _each_user(case_id, "deactivate", lambda d, uid: d.deactivate(uid), keep=keep)


def delete_directory_users(case_id: str) -> dict[str, Any]:
    """§10: every user of the account deleted from the directory (404 counts as done)."""
    return _each_user(case_id, "delete", lambda d, uid: d.delete(uid))


def _each_user(
    case_id: str,
    action: str,
    act: Callable[[scim_directory.ScimDirectory, str], dict],
    keep: set[str] = frozenset(),
) -> dict[str, Any]:
    with db() as s:
        account_id = get_case(s, case_id).account_id
    done: list[str] = []
    kept: list[str] = []
    with scim_directory.directory() as d:
        users = _read(case_id, lambda: d.users_of(account_id))
        for u in users:
            if (u.user_name or "").lower() in keep:
                kept.append(u.id)
                continue
            step = f"{action}:{u.id}"
            call_once(case_id, VENDOR, step, {"user_id": u.id, "action": action},
                      lambda _key, uid=u.id: act(d, uid))  # fmt: skip
            done.append(step)
    with db() as s:
        ids = [ledger.find(s, VENDOR, case_id, step).id for step in done]
    return {
        "vendor": VENDOR,
        "filter": scim_directory.account_filter(account_id),
        "action": action,
        "users": len(done),
        "call_ids": ids,
        **({"kept_until_closure": len(kept)} if keep else {}),
    }


def _read(case_id: str, read: Callable[[], T]) -> T:
    """A read-only call: Retry-After waited inline (briefly), 5xx left to the task's retries,
    a 4xx marks the case needs_attention like a refused call."""
    deadline = time.monotonic() + MAX_INLINE_WAIT
    while True:
        try:
            return read()
        except VendorThrottled as exc:
            if time.monotonic() + exc.retry_after > deadline:
                raise
            time.sleep(exc.retry_after)
        except VendorRefused as exc:
            why = f"{ledger.attention_marker(VENDOR, 'list users')}: {exc}"[:1000]
            with db() as s:
                flag_case(s, case_id, why)
                audit(s, case_id, ACTOR, "vendor_call_refused", f"{VENDOR} list users", why)
            raise CallBlocked(why) from exc
