"""Early warning and the retention karte (§14): the daily scan now, the at-risk queue, one
account's episodes, a person resolving them (as their API token proves), and the karte.

The early-warning modules (polars) load only when one of these runs.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from offboard.service.database import store_session
from offboarding.cases.store import OffboardingError, get_account, get_case
from offboarding.settings import get_settings

if TYPE_CHECKING:
    from offboarding.early_warning.karte import Karte


def run_scan(on: date | None) -> dict[str, Any]:
    """The daily scan now, for that day (default today); a rerun opens nothing new."""
    from flows.early_warning_flow import early_warning_flow

    return early_warning_flow(on=on)


def queue(status: str | None = "open", owner: str | None = None) -> list[dict[str, Any]]:
    """Episodes, most pressing first; by default the open ones (the at-risk queue)."""
    from offboarding.early_warning.store.episodes import episode_view, episodes

    if status not in (None, "open", "resolved"):
        raise OffboardingError(f"--status {status!r}: open, resolved or all")
    wanted = owner.strip().lower() if owner else None
    with store_session() as s:
        rows = [episode_view(r) for r in episodes(s, status)]
    return [r for r in rows if wanted is None or r["owner"] == wanted]


def _karte(s: Session, account_id: str, case_reason: str | None = None) -> Karte:
    from offboarding.early_warning.store.karte import account_karte, current_catalogue

    settings = get_settings()
    catalogue = current_catalogue(settings.state_dir)
    return account_karte(s, account_id, date.today(), settings.policy(), catalogue, case_reason)


def karte(account_id: str) -> dict[str, Any]:
    """The retention karte of an account, as of today."""
    with store_session() as s:
        get_account(s, account_id)
        return _karte(s, account_id).to_dict()


def case_karte(case_id: str) -> dict[str, Any]:
    """The karte of the case's account, with the reason the case recorded (if any yet)."""
    with store_session() as s:
        case = get_case(s, case_id)
        return _karte(s, case.account_id, (case.reason or {}).get("category")).to_dict()


def account_risk(account_id: str) -> dict[str, Any]:
    """Every episode of one account (open first) and its karte."""
    from offboarding.early_warning.store.episodes import episode_view, episodes

    with store_session() as s:
        get_account(s, account_id)
        rows = [episode_view(r) for r in episodes(s, account_id=account_id)]
        k = _karte(s, account_id).to_dict()
    rows.sort(key=lambda r: r["status"] != "open")
    return {"account_id": account_id, "episodes": rows, "karte": k}


def resolve_risk(
    account_id: str, note: str, cause: str | None = None, by: str | None = None
) -> dict[str, Any]:
    """Close the account's open episodes (or one cause's) as the person the API token
    proves; a `--by` naming someone else is refused, not believed."""
    from offboard.service.tokens import proven_actor
    from offboarding.early_warning.store.episodes import episode_view, resolve

    with store_session() as s:
        get_account(s, account_id)  # an unknown account is said before the token is asked
    actor = proven_actor(by)
    with store_session() as s:
        rows = [episode_view(r) for r in resolve(s, account_id, by=actor, note=note, cause=cause)]
    return {"account_id": account_id, "resolved_by": actor, "resolved": rows}


def write_product_sample(folder: Path, day: date | None = None) -> dict[str, Any]:
    """The product tables of the sample dataset in `folder` (planted at the sample accounts,
    for `day`), added to its catalogue's `product_data:` section."""
    import json

    import yaml

    from offboard.service.exports import SAMPLE_DATA
    from offboarding.early_warning.sample.population import plan
    from offboarding.early_warning.sample.writing import (
        PRODUCT_DIR,
        add_to_catalogue,
        write_product_data,
    )

    catalogue = folder / "catalogue.yaml"
    accounts = (yaml.safe_load(catalogue.read_text(encoding="utf-8")) or {}).get("accounts") or []
    known = {a["account_id"]: a for a in json.loads((SAMPLE_DATA / "accounts.json").read_text())}
    day = day or date.today()
    meta = write_product_data(folder / PRODUCT_DIR, plan(list(accounts), day, known=known))
    add_to_catalogue(catalogue)
    return meta
