"""Proofs of identity: codes bound to case, decision, person and method; signed links that
expire and refuse any change; API tokens whose hash is all we keep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from offboarding.trust.proofs import (
    LinkClaims,
    ProofError,
    decision_code,
    match_code,
    new_api_token,
    proof_id,
    read_link,
    sign_link,
    split_api_token,
    token_hash,
)

SECRET = b"test-secret-0123456789"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_a_code_is_eight_digits_and_stable() -> None:
    code = decision_code(SECRET, "C-1", "approval-manager", "maya@example.com", "code")
    assert len(code) == 8 and code.isdigit()
    assert code == decision_code(SECRET, "C-1", "approval-manager", " Maya@Example.com ", "code")


@pytest.mark.parametrize(
    ("case_id", "key", "person", "secret"),
    [
        ("C-2", "approval-manager", "maya@example.com", SECRET),  # another case
        ("C-1", "approval-manager-2", "maya@example.com", SECRET),  # a re-asked decision
        ("C-1", "approval-manager", "cs-lead@example.com", SECRET),  # another person
        ("C-1", "approval-manager", "maya@example.com", b"other-secret"),  # another server
    ],
)
def test_a_code_proves_nothing_elsewhere(
    case_id: str, key: str, person: str, secret: bytes
) -> None:
    code = decision_code(SECRET, "C-1", "approval-manager", "maya@example.com", "code")
    assert match_code(secret, case_id, key, person, code) is None


def test_match_code_names_the_method() -> None:
    for method in ("code", "link", "token"):
        code = decision_code(SECRET, "C-1", "verification", "o@example.com", method)
        assert match_code(SECRET, "C-1", "verification", "o@example.com", code) == method
    spaced = decision_code(SECRET, "C-1", "verification", "o@example.com", "code")
    assert match_code(SECRET, "C-1", "verification", "o@example.com", f"{spaced[:4]} {spaced[4:]}")
    for bad in ("", "1234", "abcdefgh", None):
        assert match_code(SECRET, "C-1", "verification", "o@example.com", bad) is None


def test_proof_ids_differ_by_method_and_key() -> None:
    ids = {
        proof_id("C-1", key, "o@example.com", m)
        for key in ("verification", "verification-2")
        for m in ("code", "link")
    }
    assert len(ids) == 4


def claims(**kw: object) -> LinkClaims:
    base = dict(
        case_id="C-1",
        input_key="approval-legal",
        person="lena.legal@example.com",
        action="open",
        expires=NOW + timedelta(days=7),
        nonce="n1",
    )
    return LinkClaims(**{**base, **kw})


def test_a_signed_link_reads_back_its_claims() -> None:
    token = sign_link(SECRET, claims())
    got = read_link(SECRET, token, NOW)
    assert (got.case_id, got.input_key, got.person, got.action) == (
        "C-1",
        "approval-legal",
        "lena.legal@example.com",
        "open",
    )


def test_a_link_refuses_expiry_tampering_and_other_secrets() -> None:
    token = sign_link(SECRET, claims())
    with pytest.raises(ProofError, match="expired"):
        read_link(SECRET, token, NOW + timedelta(days=8))
    with pytest.raises(ProofError, match="signature"):
        read_link(b"another-server", token, NOW)
    payload, sig = token.split(".")
    forged = sign_link(SECRET, claims(person="mallory@example.com")).split(".")[0]
    with pytest.raises(ProofError, match="signature"):
        read_link(SECRET, f"{forged}.{sig}", NOW)
    for junk in ("", "abc", "a.b.c", f"{payload}."):
        with pytest.raises(ProofError):
            read_link(SECRET, junk, NOW)


def test_api_tokens_split_and_hash() -> None:
    token, token_id, secret_part = new_api_token()
    assert token.startswith("obt_") and split_api_token(token) == (token_id, secret_part)
    assert token_hash(secret_part) != secret_part and len(token_hash(secret_part)) == 64
    for bad in ("", "obt_", "xyz_1_2", "obt__secret", "obt_id_"):
        with pytest.raises(ProofError):
            split_api_token(bad)
