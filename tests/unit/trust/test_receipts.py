"""Signed receipts: Ed25519 over the canonical JSON, deterministic, refusing any change."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from offboarding.trust.receipts import (
    ReceiptError,
    canonical,
    load_public_key,
    public_key_text,
    sign,
    verify,
)

KEY = Ed25519PrivateKey.generate()
DOC = {"certificate_id": "DC-C-1", "objects": {"count": 3, "bytes": 120}, "name": "Sakura 株式会社"}


def test_a_signed_document_verifies_and_signs_the_same_twice() -> None:
    signed = sign(DOC, KEY)
    assert verify(signed, KEY.public_key())["alg"] == "Ed25519"
    assert sign(signed, KEY) == signed  # re-signing replaces, deterministically
    assert canonical(signed) == canonical(DOC)  # the signature is not part of what it signs


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["objects"].update(count=2),
        lambda d: d.update(name="Sakura"),
        lambda d: d.update(extra=True),
        lambda d: d.pop("name"),
    ],
)
def test_any_change_breaks_the_signature(change) -> None:  # noqa: ANN001
    signed = sign(DOC, KEY)
    forged = {**signed, "objects": dict(signed["objects"])}
    change(forged)
    with pytest.raises(ReceiptError, match="was changed"):
        verify(forged, KEY.public_key())


def test_another_key_or_no_signature_is_refused() -> None:
    signed = sign(DOC, KEY)
    other = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(ReceiptError, match="signed by key"):
        verify(signed, other)
    with pytest.raises(ReceiptError, match="no Ed25519 signature"):
        verify(DOC, KEY.public_key())
    text = public_key_text(KEY.public_key())
    assert verify(signed, load_public_key(text))
    with pytest.raises(ReceiptError, match="not an Ed25519 public key"):
        load_public_key("abc")
