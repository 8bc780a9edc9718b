"""Tables of issue 3: every exported object as it was written, purges and deletion certificates.

`export_objects` remembers each object's checksum, row count and (for summarised categories) the
usage summary, so a rerun that skips a finished object still knows its numbers. `purges` keeps
the inventory of what is about to be deleted *before* deleting it, so a purge interrupted after
the delete still certifies every object. Nothing here holds personal data.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Date, DateTime, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from offboarding.storage.models import Base


class ExportObjectRow(Base):
    __tablename__ = "export_objects"
    __table_args__ = (UniqueConstraint("export_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    export_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(1000))
    category: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(16))
    bytes: Mapped[int] = mapped_column(BigInteger)
    rows: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(100))
    summary: Mapped[dict | None] = mapped_column(JSON)
    done_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PurgeRow(Base):
    """One purge per case: started (inventory taken), then certified."""

    __tablename__ = "purges"
    case_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))
    trigger: Mapped[str] = mapped_column(String(32))
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(1000))
    inventory: Mapped[list] = mapped_column(JSON)
    #: what the orchestrator erase deleted, added up over every try (for the certificate)
    orchestrator_erased: Mapped[dict | None] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DeletionCertificateRow(Base):
    """Where the certificate is (kept outside the purged prefix) and what it says."""

    __tablename__ = "deletion_certificates"
    case_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    certificate_id: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[str] = mapped_column(String(64), index=True)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    backups_expire_on: Mapped[date] = mapped_column(Date)
    json_key: Mapped[str] = mapped_column(String(1000))
    json_sha256: Mapped[str] = mapped_column(String(64))
    pdf_key: Mapped[str] = mapped_column(String(1000))
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict] = mapped_column(JSON)
