"""Win-back signals (§11): one trigger event, checked, with an id that is its natural key.

A signal names its subject: an account, a company domain, a competitor (for competitor news)
or, for a release, the feature and reason codes it addresses. Its id is given, or a hash of
its content, so the same event ingested twice is stored once. Pure: reading signal files is
`winback.signals.files`, checking a whole file at once is `winback.signals.frame`.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

import polars as pl
from pydantic import BaseModel, Field, field_validator, model_validator

from offboarding.domain import COMPETITOR_TYPES, SignalType

__all__ = [
    "CODE_SPLIT",
    "DOMAIN_PATTERN",
    "SIGNAL_SCHEMA",
    "SignalFileError",
    "WinbackSignal",
    "frame_of",
    "normalise_domain",
    "normalise_name",
    "now_utc",
    "signal_id_for",
    "subject_problem",
]

#: The columns of a normalised signal frame (and of the Parquet files we write).
SIGNAL_SCHEMA: dict[str, pl.DataType] = {
    "signal_id": pl.String(),
    "type": pl.String(),
    "account_id": pl.String(),
    "domain": pl.String(),
    "competitor": pl.String(),
    "codes": pl.List(pl.String()),
    "observed_at": pl.Datetime("us", "UTC"),
    "source": pl.String(),
    "details": pl.String(),
}
#: A company domain, lower-case; the same text serves `re` here and polars in `frame`.
DOMAIN_PATTERN = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$"
_DOMAIN = re.compile(DOMAIN_PATTERN)
#: Codes in one text cell are separated by any of these.
CODE_SPLIT = r"[;|,]"


class SignalFileError(ValueError):
    """A signal file that cannot be ingested; the message names the rows and what to fix."""


def normalise_domain(value: str) -> str:
    d = value.strip().lower().removeprefix("http://").removeprefix("https://")
    return d.removeprefix("www.").split("/")[0]


def normalise_name(value: str) -> str:
    return " ".join(value.strip().lower().split())


def signal_id_for(
    type_: str,
    account_id: str | None,
    domain: str | None,
    competitor: str | None,
    codes: list[str],
    observed_at: datetime,
    source: str,
) -> str:
    """A stable id from the content: the same event from the same source is one signal."""
    key = "|".join(
        [
            type_,
            account_id or "",
            domain or "",
            competitor or "",
            ",".join(codes),
            observed_at.astimezone(UTC).isoformat(timespec="seconds"),
            source,
        ]
    )
    return "S-" + hashlib.sha1(key.encode()).hexdigest()[:16]


class WinbackSignal(BaseModel):
    """One trigger event. Exactly what it is about decides whom it can bring back."""

    signal_id: str | None = Field(None, max_length=64, description="Natural key; derived if empty")
    type: SignalType
    account_id: str | None = Field(None, max_length=64)
    domain: str | None = Field(None, max_length=255, description="Company domain, e.g. acme.com")
    competitor: str | None = Field(None, max_length=200, description="For competitor news")
    codes: list[str] = Field(default_factory=list, description="feature_shipped: feature/reason")
    observed_at: datetime
    source: str = Field(min_length=1, max_length=200)
    details: dict[str, Any] = Field(default_factory=dict)

    @field_validator("account_id", "competitor", "signal_id", mode="before")
    @classmethod
    def _blank_is_none(cls, v: Any) -> Any:
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("domain", mode="before")
    @classmethod
    def _domain(cls, v: Any) -> Any:
        if v is None or (isinstance(v, str) and not v.strip()):
            return None
        d = normalise_domain(str(v))
        if not _DOMAIN.match(d):
            raise ValueError(f"not a company domain: {v!r}")
        return d

    @field_validator("codes", mode="before")
    @classmethod
    def _codes(cls, v: Any) -> Any:
        if v is None:
            return []
        items = re.split(CODE_SPLIT, v) if isinstance(v, str) else list(v)
        return [c for c in (normalise_name(str(x)) for x in items) if c]

    @field_validator("observed_at")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        return (v.replace(tzinfo=UTC) if v.tzinfo is None else v).astimezone(UTC)

    @model_validator(mode="after")
    def _subject(self) -> WinbackSignal:
        if self.competitor is not None:
            self.competitor = normalise_name(self.competitor)
        problem = subject_problem(
            self.type, self.account_id, self.domain, self.competitor, self.codes, self.details
        )
        if problem:
            raise ValueError(problem)
        if self.signal_id is None:
            self.signal_id = signal_id_for(
                self.type,
                self.account_id,
                self.domain,
                self.competitor,
                self.codes,
                self.observed_at,
                self.source,
            )
        return self

    def row(self) -> dict[str, Any]:
        """The normalised frame row (details as JSON text)."""
        return {
            "signal_id": self.signal_id,
            "type": str(self.type),
            "account_id": self.account_id,
            "domain": self.domain,
            "competitor": self.competitor,
            "codes": self.codes,
            "observed_at": self.observed_at,
            "source": self.source,
            "details": json.dumps(self.details, ensure_ascii=False, sort_keys=True),
        }


def subject_problem(
    type_: str,
    account_id: str | None,
    domain: str | None,
    competitor: str | None,
    codes: list[str],
    details: dict[str, Any],
) -> str | None:
    """What is missing for this type of signal to be about someone, or None."""
    targeted = account_id is not None or domain is not None
    if type_ == SignalType.feature_shipped and not codes:
        return "feature_shipped needs codes (the features or reasons the release addresses)"
    if type_ in COMPETITOR_TYPES and not (targeted or competitor):
        return f"{type_} needs a competitor, an account_id or a domain"
    if type_ == SignalType.champion_moved and not details.get("new_company"):
        return "champion_moved needs details.new_company (and details.person)"
    if type_ not in COMPETITOR_TYPES | {SignalType.feature_shipped} and not targeted:
        return f"{type_} needs an account_id or a domain"
    return None


def frame_of(signals: list[WinbackSignal]) -> pl.DataFrame:
    """Checked signals as one normalised frame, the shape the store and the selection take."""
    return pl.DataFrame([s.row() for s in signals], schema=SIGNAL_SCHEMA)


def now_utc() -> datetime:
    return datetime.now(UTC)
