"""Proofs of identity as plain functions: one-time decision codes, signed single-use links and
personal API tokens. Only hashes are ever stored; every comparison is constant-time.

A proof binds a person to one thing they may do (a case, an input key, an action) until an
expiry: it is what someone was sent or issued, never what they typed about themselves.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

#: How each identity was proven, as the audit log records it.
PROOF_METHODS = ("code", "link", "token")
CODE_DIGITS = 8
TOKEN_PREFIX = "obt"


class ProofError(ValueError):
    """A proof that does not hold: wrong, expired, reused, foreign or malformed."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def decision_code(secret: bytes, case_id: str, input_key: str, person: str, method: str) -> str:
    """The 8-digit one-time code that proves `person` for one decision, by one method.

    Derived (HMAC-SHA256 with the server secret) rather than stored: a rerun of the step that
    sends it sends the same code, and the database holds nothing a reader could replay.
    Single use is recorded in `proof_uses`; a re-asked decision has a new input key, hence
    new codes.
    """
    msg = "\x1f".join(("decision-code", case_id, input_key, normalise_email(person), method))
    digest = hmac.new(secret, msg.encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 10**CODE_DIGITS:0{CODE_DIGITS}d}"


def match_code(secret: bytes, case_id: str, input_key: str, person: str, code: str) -> str | None:
    """The method whose code `code` is for this decision and person, or None."""
    given = "".join(ch for ch in str(code or "") if ch.isdigit())
    if len(given) != CODE_DIGITS:
        return None
    found = None
    for method in PROOF_METHODS:  # every method compared: no early exit to time
        if hmac.compare_digest(given, decision_code(secret, case_id, input_key, person, method)):
            found = method
    return found


def proof_id(case_id: str, input_key: str, person: str, method: str) -> str:
    """The single-use key of one proof (a code or a link) in `proof_uses`."""
    msg = "\x1f".join((case_id, input_key, normalise_email(person), method))
    return hashlib.sha256(msg.encode()).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class LinkClaims:
    """What a signed decision link lets its holder do, once, before `expires`."""

    case_id: str
    input_key: str
    person: str
    action: str  # "open" (the form), "approve", "reject", "confirm", "deny"
    expires: datetime
    nonce: str


def sign_link(secret: bytes, claims: LinkClaims) -> str:
    """`payload.signature`, both base64url: HMAC-SHA256 over the JSON claims."""
    body = {
        "c": claims.case_id,
        "k": claims.input_key,
        "p": normalise_email(claims.person),
        "a": claims.action,
        "e": int(claims.expires.timestamp()),
        "n": claims.nonce,
    }
    payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
    sig = _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{sig}"


def read_link(secret: bytes, token: str, now: datetime) -> LinkClaims:
    """The claims of a link whose signature holds and that has not expired; else ProofError."""
    try:
        payload, sig = token.split(".")
        expected = _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest())
    except ValueError as exc:
        raise ProofError("malformed link") from exc
    if not hmac.compare_digest(sig, expected):
        raise ProofError("the link's signature does not match")
    try:
        body = json.loads(_unb64(payload))
        claims = LinkClaims(
            body["c"], body["k"], body["p"], body["a"],
            datetime.fromtimestamp(int(body["e"]), UTC), body["n"],
        )  # fmt: skip
    except (ValueError, KeyError, TypeError) as exc:
        raise ProofError("malformed link") from exc
    if claims.expires <= now:
        raise ProofError("the link has expired")
    return claims


def new_api_token() -> tuple[str, str, str]:
    """(token, token_id, secret part): the person keeps `token`; we keep its id and hash."""
    token_id = secrets.token_hex(6)
    secret_part = secrets.token_urlsafe(32)
    return f"{TOKEN_PREFIX}_{token_id}_{secret_part}", token_id, secret_part


def split_api_token(token: str) -> tuple[str, str]:
    """(token_id, secret part) of a token as issued; ProofError for anything else."""
    parts = token.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or not parts[2]:
        raise ProofError("not an offboarding API token (expected obt_<id>_<secret>)")
    return parts[1], parts[2]


def token_hash(secret_part: str) -> str:
    """Tokens carry 256 random bits: a plain SHA-256 is enough to store them safely."""
    return hashlib.sha256(secret_part.encode()).hexdigest()


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
