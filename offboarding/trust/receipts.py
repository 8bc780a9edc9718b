"""Signed receipts: the export manifest and the deletion certificate carry an Ed25519 signature
over their canonical JSON, so anyone holding our public key can check them offline, and a
changed byte anywhere in the document shows. Deterministic: the same document and key always
give the same signature, so a rerun rewrites the same receipt."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ALG = "Ed25519"
SIGNATURE = "signature"


class ReceiptError(ValueError):
    """A receipt whose signature is missing, malformed, from another key, or does not match."""


def canonical(document: dict[str, Any]) -> bytes:
    """The signed bytes: the document without its signature, keys sorted, no spaces."""
    body = {k: v for k, v in document.items() if k != SIGNATURE}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def public_key_text(key: Ed25519PublicKey) -> str:
    """The raw 32-byte public key, base64: what `offboard keys show` prints."""
    return base64.b64encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def key_id(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load_public_key(text: str) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text.strip()))
    except ValueError as exc:
        raise ReceiptError("not an Ed25519 public key (base64 of 32 bytes)") from exc


def sign(document: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """The document with its signature (any old signature replaced)."""
    public = key.public_key()
    value = base64.b64encode(key.sign(canonical(document))).decode()
    sig = {"alg": ALG, "key_id": key_id(public), "value": value}
    return {**{k: v for k, v in document.items() if k != SIGNATURE}, SIGNATURE: sig}


def verify(document: dict[str, Any], public: Ed25519PublicKey) -> dict[str, str]:
    """The signature block when it holds for this key; ReceiptError says what does not."""
    sig = document.get(SIGNATURE)
    if not isinstance(sig, dict) or sig.get("alg") != ALG or not sig.get("value"):
        raise ReceiptError("the document carries no Ed25519 signature")
    if sig.get("key_id") != key_id(public):
        raise ReceiptError(f"signed by key {sig.get('key_id')}, not by {key_id(public)}")
    try:
        public.verify(base64.b64decode(sig["value"]), canonical(document))
    except (InvalidSignature, ValueError) as exc:
        raise ReceiptError("the signature does not match: the document was changed") from exc
    return sig
