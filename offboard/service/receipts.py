"""Signed receipts from the outside: our public key, and checking a manifest or a deletion
certificate offline (with the key printed by `offboard keys show`, or this install's own)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from offboarding.cases.store import OffboardingError
from offboarding.settings import get_settings
from offboarding.trust.receipts import ReceiptError, key_id, load_public_key, public_key_text
from offboarding.trust.receipts import verify as verify_signature
from offboarding.trust.secrets import signing_key


def public_key() -> dict[str, str]:
    public = signing_key(get_settings()).public_key()
    return {"alg": "Ed25519", "key_id": key_id(public), "public_key": public_key_text(public)}


def verify_receipt(path: Path, public_key_b64: str | None = None) -> dict[str, Any]:
    """Which receipt the file is and who signed it; OffboardingError when it does not hold."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise OffboardingError(f"no such file: {path}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise OffboardingError(f"{path} is not a JSON receipt: {exc}") from exc
    if not isinstance(document, dict):
        raise OffboardingError(f"{path} is not a JSON receipt")
    try:
        if public_key_b64:
            key = load_public_key(public_key_b64)
        else:
            key = signing_key(get_settings()).public_key()
        sig = verify_signature(document, key)
    except ReceiptError as exc:
        raise OffboardingError(f"refused: {path}: {exc}") from exc
    kind = "deletion certificate" if "certificate_id" in document else "export manifest"
    ident = document.get("certificate_id") or document.get("export_id")
    return {"file": str(path), "kind": kind, "id": ident, "valid": True, "key_id": sig["key_id"]}
