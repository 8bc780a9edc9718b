"""Trust boundary tables: personal API tokens (hashed), proofs already used, and wrong proofs
counted per case and person (a lockout that a manager lifts)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from offboarding.storage.models import Base


class ApiTokenRow(Base):
    """A person's CLI token: only its SHA-256 is kept; revoking it stops it at once."""

    __tablename__ = "api_tokens"
    token_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    person: Mapped[str] = mapped_column(String(254), index=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    issued_by: Mapped[str] = mapped_column(String(254))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by: Mapped[str | None] = mapped_column(String(254))


class ProofUseRow(Base):
    """A decision code or link that has been used: single use is a primary key."""

    __tablename__ = "proof_uses"
    proof_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(32), index=True)
    person: Mapped[str] = mapped_column(String(254))
    method: Mapped[str] = mapped_column(String(8))
    used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ProofFailureRow(Base):
    """A wrong, expired, reused or foreign proof given for a case: counted for the lockout."""

    __tablename__ = "proof_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(String(32), index=True)
    person: Mapped[str] = mapped_column(String(254))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    why: Mapped[str] = mapped_column(Text, default="")
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cleared_by: Mapped[str | None] = mapped_column(String(254))
