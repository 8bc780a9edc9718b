"""Where the server secret and the CLI user's token come from: the environment, else the state
folder (created 0600 on first use). Never from code, never logged."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from offboarding.settings import Settings
from offboarding.trust.proofs import ProofError

SECRET_FILE = "secret.key"
SIGNING_KEY_FILE = "signing-key.pem"


def server_secret(settings: Settings) -> bytes:
    """OFFBOARDING_SECRET_KEY, or the state folder's `secret.key`, made on first use."""
    if settings.secret_key:
        return settings.secret_key.encode()
    path = settings.state_dir / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        _create_once(path, secrets.token_hex(32).encode())
    return path.read_text().strip().encode()


def _create_once(path: Path, content: bytes) -> None:
    """Write a 0600 file atomically, once: a process racing us finds the whole file or none."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(content)
    try:
        os.link(tmp, path)  # fails if another process made it first: theirs is kept
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


def cli_token(settings: Settings) -> str:
    """The CLI user's token: OFFBOARDING_TOKEN, or OFFBOARDING_TOKEN_FILE (must be 0600)."""
    if settings.token:
        return settings.token.strip()
    if settings.token_file:
        path = Path(settings.token_file)
        if not path.exists():
            raise ProofError(f"token file {path} not found")
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            raise ProofError(f"token file {path} is readable by others: chmod 600 it")
        return path.read_text().strip()
    raise ProofError(
        "no API token: set OFFBOARDING_TOKEN (or OFFBOARDING_TOKEN_FILE, a 0600 file); "
        "an admin issues one with `offboard tokens issue --for EMAIL`"
    )


def write_token_file(path: Path, token: str) -> None:
    """Keep a token where only its owner can read it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    os.chmod(path, 0o600)


def signing_key(settings: Settings):  # noqa: ANN201 - Ed25519PrivateKey
    """The receipts' Ed25519 key: OFFBOARDING_SIGNING_KEY (PEM), or the state folder's
    `signing-key.pem`, generated 0600 on first use."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        load_pem_private_key,
    )

    pem = settings.signing_key.encode() if settings.signing_key else None
    if pem is None:
        path = settings.state_dir / SIGNING_KEY_FILE
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            new = Ed25519PrivateKey.generate().private_bytes(
                Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
            )
            _create_once(path, new)
        pem = path.read_bytes()
    key = load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("OFFBOARDING_SIGNING_KEY is not an Ed25519 private key")
    return key
