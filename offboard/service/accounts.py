"""Accounts in: a CSV or JSON file, every row validated before anything is written."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from pydantic import ValidationError

from offboard.service.database import store_session
from offboard.service.errors import validation_message
from offboarding.cases.store import OffboardingError, upsert_accounts
from offboarding.domain import Account


def load_accounts(path: Path) -> list[Account]:
    """CSV or JSON; every row is validated before anything is written."""
    if not path.exists():
        raise OffboardingError(f"no such file: {path}")
    if path.suffix.lower() == ".json":
        rows = json.loads(path.read_text(encoding="utf-8"))
    elif path.suffix.lower() == ".csv":
        rows = []
        with path.open(encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh):
                owner = {
                    k.removeprefix("owner_"): r.pop(k) for k in list(r) if k.startswith("owner_")
                }
                contacts = json.loads(r.pop("contacts", "") or "[]")
                rows.append(
                    {
                        **{k: v for k, v in r.items() if v != ""},
                        "owner": owner,
                        "contacts": contacts,
                    }
                )
    else:
        raise OffboardingError(f"{path}: accounts must be .csv or .json")
    accounts, errors = [], []
    for i, row in enumerate(rows, 1):
        try:
            accounts.append(Account.model_validate(row))
        except ValidationError as exc:
            errors.append(f"row {i}: {validation_message(exc)}")
    if errors:
        raise OffboardingError("no accounts imported; fix these rows:\n" + "\n".join(errors))
    return accounts


def import_accounts(path: Path) -> int:
    """Load the file, then upsert every account in one transaction: all rows or none."""
    accounts = load_accounts(path)
    with store_session() as s:
        return upsert_accounts(s, accounts)
