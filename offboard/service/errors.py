"""Refused input as one readable line: the CLI prints it as is, without a traceback."""

from __future__ import annotations

from pydantic import ValidationError


def validation_message(exc: ValidationError) -> str:
    """`field.path: message; ...` for every error pydantic found."""
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
