"""Win-back signals (§11): the model, and reading them from CSV/Parquet files, local or s3://.

A signal names its subject: an account, a company domain, a competitor (for competitor news)
or, for a release, the feature and reason codes it addresses. Files are checked whole and
vectorised before anything is stored: one bad row rejects the file with the row numbers, so
nothing is half-ingested. A signal's id is its natural key (given, or a hash of its content),
so ingesting the same file twice stores each signal once.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, Field, field_validator, model_validator

from offboarding.winback_types import COMPETITOR_TYPES, SignalType

__all__ = ["SIGNAL_SCHEMA", "SignalFileError", "WinbackSignal", "read_signal_file"]

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
_DOMAIN = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")
_DOMAIN_PL = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$"
_CODE_SPLIT = r"[;|,]"


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
        items = re.split(_CODE_SPLIT, v) if isinstance(v, str) else list(v)
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


# ---------------------------------------------------------------- files, local or s3://


@contextmanager
def local_copy(location: str) -> Iterator[Path]:
    """A local path for a file or an s3://bucket/key object (downloaded with retries)."""
    if not location.startswith("s3://"):
        path = Path(location)
        if not path.is_file():
            raise FileNotFoundError(f"no such signal file: {location}")
        yield path
        return
    bucket, _, key = location.removeprefix("s3://").partition("/")
    if not bucket or not key:
        raise SignalFileError(f"{location}: expected s3://bucket/key")
    from botocore.exceptions import ClientError

    from offboarding.objectstore import s3_client

    suffix = "".join(Path(key).suffixes[-1:])
    with tempfile.TemporaryDirectory(prefix="signals-") as tmp:
        path = Path(tmp) / f"signals{suffix}"
        try:
            s3_client().download_file(bucket, key, str(path))
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in {"404", "NoSuchKey", "NoSuchBucket"}:
                raise FileNotFoundError(f"no such signal object: {location}") from exc
            raise
        yield path


def _raw_frame(path: Path) -> pl.DataFrame:
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pl.read_parquet(path)
        if suffix == ".csv":
            return pl.read_csv(path, infer_schema=False)  # every column as text; we parse
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise SignalFileError(f"{path.name}: unreadable {suffix} file: {exc}") from exc
    raise SignalFileError(f"{path.name}: signal files must be .csv or .parquet")


def _text(df: pl.DataFrame, name: str) -> pl.Expr:
    if name not in df.columns:
        return pl.lit(None, dtype=pl.String)
    col = pl.col(name).cast(pl.String).str.strip_chars()
    return pl.when(col == "").then(None).otherwise(col)


def _codes(df: pl.DataFrame) -> pl.Expr:
    if "codes" not in df.columns:
        return pl.lit([], dtype=pl.List(pl.String))
    dtype = df.schema["codes"]
    if isinstance(dtype, pl.List):
        items = pl.col("codes").cast(pl.List(pl.String))
    else:
        items = (
            pl.col("codes")
            .cast(pl.String)
            .fill_null("")
            .str.replace_all(_CODE_SPLIT, ";")
            .str.split(";")
        )
    cleaned = items.list.eval(
        pl.element().str.to_lowercase().str.strip_chars().str.replace_all(r"\s+", " ")
    ).list.eval(pl.element().filter(pl.element().is_not_null() & (pl.element() != "")))
    return cleaned.fill_null(pl.lit([], dtype=pl.List(pl.String)))


def _observed(df: pl.DataFrame) -> pl.Expr:
    if "observed_at" not in df.columns:
        return pl.lit(None, dtype=pl.Datetime("us", "UTC"))
    dtype = df.schema["observed_at"]
    col = pl.col("observed_at")
    if isinstance(dtype, pl.Datetime):
        return (
            (col.dt.replace_time_zone("UTC") if dtype.time_zone is None else col)
            .dt.convert_time_zone("UTC")
            .cast(pl.Datetime("us", "UTC"))
        )
    if dtype == pl.Date:
        return col.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    # ISO 8601 in its common spellings, per row: date only, a space for the T, no seconds,
    # Z, an offset or none (UTC). One format after normalising, so no row guesses for another.
    text = col.cast(pl.String).str.strip_chars()
    text = text.str.replace(r"^(\d{4}-\d{2}-\d{2})$", "${1}T00:00:00")
    text = text.str.replace(r"^(\d{4}-\d{2}-\d{2})[ T]", "${1}T")
    text = text.str.replace(r"T(\d{2}):(\d{2})([Zz+-]|$)", "T${1}:${2}:00${3}")
    text = text.str.replace(r"[Zz]$", "+00:00")
    text = pl.when(text.str.contains(r"[+-]\d{2}:?\d{2}$")).then(text).otherwise(text + "+00:00")
    parsed = text.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%z", strict=False, time_unit="us")
    return parsed.dt.convert_time_zone("UTC").cast(pl.Datetime("us", "UTC"))


def normalise_frame(raw: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """Vectorised: the normalised frame and one message per bad row (1-based, as in the file).

    The same checks as `WinbackSignal`, written as column expressions so a file of millions
    of rows is validated in seconds.
    """
    if "type" not in raw.columns:
        raise SignalFileError("signal file has no 'type' column")
    known = [str(t) for t in SignalType]
    domain = _text(raw, "domain").str.to_lowercase()
    domain = (
        domain.str.replace(r"^https?://", "").str.replace(r"^www\.", "").str.replace(r"/.*$", "")
    )
    details = _text(raw, "details").fill_null("{}")
    frame = raw.select(
        pl.int_range(1, pl.len() + 1).alias("_row"),
        _text(raw, "signal_id").alias("signal_id"),
        _text(raw, "type").str.to_lowercase().alias("type"),
        _text(raw, "account_id").alias("account_id"),
        domain.alias("domain"),
        _text(raw, "competitor")
        .str.to_lowercase()
        .str.replace_all(r"\s+", " ")
        .alias("competitor"),
        _codes(raw).alias("codes"),
        _observed(raw).alias("observed_at"),
        _text(raw, "observed_at").alias("_observed_text"),
        _text(raw, "source").alias("source"),
        details.alias("details"),
    )
    new_company = pl.col("details").str.json_path_match("$.new_company")
    targeted = pl.col("account_id").is_not_null() | pl.col("domain").is_not_null()
    competitor_type = pl.col("type").is_in([str(t) for t in COMPETITOR_TYPES])
    feature = pl.col("type") == str(SignalType.feature_shipped)
    checks: list[tuple[pl.Expr, str]] = [
        (~pl.col("type").is_in(known), "unknown type (one of: " + ", ".join(known) + ")"),
        (pl.col("observed_at").is_null(), "observed_at missing or not an ISO date-time"),
        (pl.col("source").is_null(), "source missing"),
        (
            pl.col("domain").is_not_null() & ~pl.col("domain").str.contains(_DOMAIN_PL),
            "domain is not a company domain",
        ),
        (pl.col("account_id").str.len_chars() > 64, "account_id longer than 64"),
        (pl.col("signal_id").str.len_chars() > 64, "signal_id longer than 64"),
        (~pl.col("details").str.starts_with("{"), "details must be a JSON object"),
        (feature & (pl.col("codes").list.len() == 0), "feature_shipped needs codes"),
        (
            competitor_type & ~targeted & pl.col("competitor").is_null(),
            "competitor news needs a competitor, an account_id or a domain",
        ),
        (
            (pl.col("type") == str(SignalType.champion_moved)) & new_company.is_null(),
            "champion_moved needs details.new_company",
        ),
        (
            ~competitor_type & ~feature & pl.col("type").is_in(known) & ~targeted,
            "needs an account_id or a domain",
        ),
    ]
    flagged = frame.select(
        "_row",
        "_observed_text",
        *[cond.fill_null(False).alias(f"_e{i}") for i, (cond, _) in enumerate(checks)],
    )
    errors: list[str] = []
    for i, (_, message) in enumerate(checks):
        bad = flagged.filter(pl.col(f"_e{i}"))["_row"]
        if len(bad):
            rows = ", ".join(map(str, bad.head(5).to_list()))
            more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
            errors.append(f"rows {rows}{more}: {message}")
    bad_json = _bad_json_rows(frame)
    if bad_json:
        errors.append(f"rows {', '.join(map(str, bad_json[:5]))}: details is not valid JSON")
    if errors:
        return frame.head(0), errors
    frame = frame.with_columns(_derived_ids(frame)).drop("_row", "_observed_text")
    return frame.select(list(SIGNAL_SCHEMA)).cast(SIGNAL_SCHEMA), []


def _bad_json_rows(frame: pl.DataFrame) -> list[int]:
    """Details that are not JSON objects; few distinct values in practice, so check those."""
    bad_values = []
    for value in frame["details"].unique().to_list():
        try:
            ok = isinstance(json.loads(value), dict)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            bad_values.append(value)
    if not bad_values:
        return []
    return frame.filter(pl.col("details").is_in(bad_values))["_row"].head(5).to_list()


def _derived_ids(frame: pl.DataFrame) -> pl.Series:
    """Given ids stay; missing ones are hashed from the content (as `WinbackSignal` does)."""
    missing = frame.filter(pl.col("signal_id").is_null())
    if missing.is_empty():
        return frame["signal_id"]
    derived = {
        r["_row"]: signal_id_for(
            r["type"],
            r["account_id"],
            r["domain"],
            r["competitor"],
            r["codes"],
            r["observed_at"],
            r["source"],
        )
        for r in missing.iter_rows(named=True)
    }
    filled = frame.select(
        pl.coalesce(
            pl.col("signal_id"),
            pl.col("_row").replace_strict(derived, default=None, return_dtype=pl.String),
        )
    )
    return filled.to_series().alias("signal_id")


def read_signal_file(location: str) -> pl.DataFrame:
    """Read and check a whole signal file (local path or s3://); raise on any bad row."""
    with local_copy(location) as path:
        raw = _raw_frame(path)
    frame, errors = normalise_frame(raw)
    if errors:
        raise SignalFileError(f"{location}: nothing ingested; fix these rows: " + "; ".join(errors))
    dupes = frame.filter(pl.col("signal_id").is_duplicated())["signal_id"].unique()
    if len(dupes):
        frame = frame.unique("signal_id", keep="first", maintain_order=True)
    return frame


def frame_of(signals: list[WinbackSignal]) -> pl.DataFrame:
    return pl.DataFrame([s.row() for s in signals], schema=SIGNAL_SCHEMA)


def now_utc() -> datetime:
    return datetime.now(UTC)
