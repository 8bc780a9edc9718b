"""Source catalogue: where the product keeps each §6 category, and how to stream one account's rows.

A catalogue file (YAML or JSON) maps every category to one source:

```yaml
categories:
  usage:
    source: {dataset: usage/, format: parquet}       # local path or s3://bucket/prefix
    formats: [csv, jsonl]
    summary: {time: ts, group: event}                 # charts in the PDF report
  account_and_users:
    source: {sql: "SELECT * FROM users WHERE account_id = :account_id", url: "${PRODUCT_DB}"}
    formats: [csv, json]
```

Datasets are read with `pyarrow.dataset` and a filter on the account column, so Parquet row
groups whose statistics exclude the account are never read (predicate pushdown) and only the
matching rows are materialised, one bounded record batch at a time. SQL sources run the query
with a bound `:account_id` parameter and a server-side cursor (`stream_results`). Relative
dataset paths are resolved against the catalogue file's folder; `${VAR}` in a URL or path is
read from the environment, so secrets stay out of the file.

An optional `product_data:` section names the product tables a population scan reads whole
(the early-warning scan: usage_events, logins, tickets, health_scores, renewals, champions),
each a dataset or a SQL query (`TableSpec`), read by `offboarding.early_warning.signals.files`.

Which catalogue: `OFFBOARDING_CATALOGUE_FILE`, else `<state dir>/sample-data/catalogue.yaml`;
if neither exists the sample dataset is generated there on first use (see `product_data`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "CATEGORIES",
    "FORMATS",
    "Catalogue",
    "CatalogueError",
    "CategorySpec",
    "SourceSpec",
    "TableSpec",
    "load_catalogue",
    "open_source",
]

#: The five categories of PLAYBOOK §6, in the order the report lists them.
CATEGORIES = (
    "account_and_users",
    "content",
    "usage",
    "integrations_and_configuration",
    "generated_reports",
)
#: csv: table (RFC 4180); jsonl: large table as JSON Lines; json: structured document.
FORMATS = ("csv", "jsonl", "json")
DEFAULT_BATCH_ROWS = 65_536
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class CatalogueError(ValueError):
    """The catalogue file is wrong or a source cannot be read; the message says which."""


def _expand(value: str) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in os.environ:
            raise CatalogueError(f"catalogue refers to ${{{name}}}, which is not set")
        return os.environ[name]

    return _ENV.sub(sub, value)


class SourceSpec(BaseModel):
    """One source: a dataset (Parquet/CSV, local or s3://) or a SQL query."""

    model_config = ConfigDict(extra="forbid")

    dataset: str | None = Field(None, description="File or folder, local or s3://bucket/prefix")
    format: Literal["parquet", "csv"] | None = Field(None, description="Default: by extension")
    partitioning: Literal["hive"] | None = Field(None, description="e.g. account_id=X/ folders")
    sql: str | None = Field(None, description="Query with an :account_id parameter")
    url: str | None = Field(None, description="SQLAlchemy URL of the product database")
    account_column: str = "account_id"
    columns: list[str] | None = Field(None, description="Columns to export (default: all)")
    batch_rows: int = Field(DEFAULT_BATCH_ROWS, ge=1_000, le=1_000_000)

    @model_validator(mode="after")
    def _one_kind(self) -> SourceSpec:
        if (self.dataset is None) == (self.sql is None):
            raise ValueError("a source has exactly one of `dataset` or `sql`")
        if self.sql is not None:
            if not self.url:
                raise ValueError("a SQL source needs `url` (a SQLAlchemy URL)")
            if not re.search(r":account_id\b", self.sql):
                raise ValueError("a SQL source's query must use the :account_id parameter")
        return self

    @property
    def kind(self) -> str:
        return "sql" if self.sql is not None else "dataset"


class SummarySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    time: str = Field(description="Timestamp column: rows per month")
    group: str | None = Field(None, description="Column to count rows by (top 10)")


class CategorySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: SourceSpec
    formats: list[Literal["csv", "jsonl", "json"]] = Field(default_factory=lambda: ["csv"])
    summary: SummarySpec | None = None
    document_group_by: str | None = Field(
        None, description="JSON document: one list per value of this column"
    )
    max_document_rows: int = Field(200_000, ge=1, description="JSON documents are in memory")

    @field_validator("formats")
    @classmethod
    def _distinct(cls, v: list[str]) -> list[str]:
        if not v or len(set(v)) != len(v):
            raise ValueError("formats must be a non-empty list without repeats")
        return v


class TableSpec(BaseModel):
    """A product table read whole by a population scan (§14 early warning, `product_data:`):
    a dataset, or a SQL query that may bound itself with `:since` (the scan's window start).
    `rename` maps our column names to the source's."""

    model_config = ConfigDict(extra="forbid")

    dataset: str | None = Field(None, description="File or folder, local or s3://bucket/prefix")
    format: Literal["parquet", "csv"] | None = Field(None, description="Default: by extension")
    partitioning: Literal["hive"] | None = None
    sql: str | None = Field(None, description="Query over the whole population")
    url: str | None = Field(None, description="SQLAlchemy URL of the product database")
    rename: dict[str, str] = Field(default_factory=dict, description="our column -> theirs")

    @model_validator(mode="after")
    def _one_kind(self) -> TableSpec:
        if (self.dataset is None) == (self.sql is None):
            raise ValueError("a table has exactly one of `dataset` or `sql`")
        if self.sql is not None and not self.url:
            raise ValueError("a SQL table needs `url` (a SQLAlchemy URL)")
        return self


@dataclass(frozen=True)
class Catalogue:
    categories: dict[str, CategorySpec]
    base_dir: Path
    path: Path | None = None
    accounts: tuple[str, ...] = field(default=())
    #: Product tables for population scans (early warning), by name; see `TableSpec`.
    tables: dict[str, TableSpec] = field(default_factory=dict)

    def parts(self) -> list[tuple[str, str]]:
        """(category, format) of every object an export writes, in a stable order."""
        return [
            (c, f) for c in CATEGORIES if c in self.categories for f in self.categories[c].formats
        ]

    def parts_largest_first(self) -> list[tuple[str, str]]:
        """`parts()` with the large tables (categories offered as JSON Lines) first: their
        uploads take longest, so they start at once and the small parts fill the free slots."""
        return sorted(self.parts(), key=lambda p: "jsonl" not in self.categories[p[0]].formats)

    def resolve(self, dataset: str) -> str:
        dataset = _expand(dataset)
        if "://" in dataset:
            return dataset
        p = Path(dataset).expanduser()
        return str(p if p.is_absolute() else (self.base_dir / p).resolve())


def parse_catalogue(data: dict[str, Any], base_dir: Path, path: Path | None = None) -> Catalogue:
    if not isinstance(data, dict) or not isinstance(data.get("categories"), dict):
        raise CatalogueError(f"{path or 'catalogue'}: expected a mapping with `categories:`")
    cats = data["categories"]
    unknown = sorted(set(cats) - set(CATEGORIES))
    if unknown:
        raise CatalogueError(f"unknown categories {unknown}; expected some of {list(CATEGORIES)}")
    missing = [c for c in CATEGORIES if c not in cats]
    if missing:
        raise CatalogueError(
            f"{path or 'catalogue'}: every §6 category is exported; missing {missing}"
        )
    parsed: dict[str, CategorySpec] = {}
    for name, spec in cats.items():
        try:
            parsed[name] = CategorySpec.model_validate(spec)
        except ValueError as exc:
            raise CatalogueError(f"category {name}: {exc}") from exc
    tables: dict[str, TableSpec] = {}
    for name, spec in (data.get("product_data") or {}).items():
        try:
            tables[name] = TableSpec.model_validate(spec)
        except ValueError as exc:
            raise CatalogueError(f"product_data {name}: {exc}") from exc
    return Catalogue(parsed, base_dir, path, tuple(data.get("accounts") or ()), tables)


def load_catalogue(path: str | Path) -> Catalogue:
    p = Path(path)
    if not p.exists():
        raise CatalogueError(f"catalogue file not found: {p}")
    text = p.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise CatalogueError(f"{p}: not valid {p.suffix.lstrip('.') or 'YAML'}: {exc}") from exc
    return parse_catalogue(data, p.resolve().parent, p.resolve())


# -- reading one account's rows ------------------------------------------------------------


def open_source(
    catalogue: Catalogue, category: str, account_id: str, columns: list[str] | None = None
) -> Iterator[pa.RecordBatch]:
    """The account's rows of `category` as record batches (bounded memory, source order)."""
    spec = catalogue.categories[category].source
    cols = columns if columns is not None else spec.columns
    if spec.kind == "sql":
        return _sql_batches(spec, account_id, cols)
    return _dataset_batches(catalogue, spec, account_id, cols)


def source_schema(catalogue: Catalogue, category: str) -> pa.Schema | None:
    """The columns of a dataset source (for an empty CSV's header); None for SQL."""
    spec = catalogue.categories[category].source
    if spec.kind == "sql":
        return None
    schema = _dataset(catalogue, spec).schema
    if spec.columns:
        schema = pa.schema([schema.field(c) for c in spec.columns])
    return schema


def _filesystem(uri: str) -> tuple[Any, str]:
    """A pyarrow filesystem for `uri`; for s3:// built from boto3's own configuration chain
    (environment, profiles, AWS_ENDPOINT_URL_S3), so S3 is configured one way everywhere."""
    if not uri.startswith("s3://"):
        return None, uri
    import boto3  # lazy: optional for local datasets
    from pyarrow import fs

    session = boto3.session.Session()
    client = session.client("s3")
    creds = session.get_credentials()
    frozen = creds.get_frozen_credentials() if creds else None
    endpoint = client.meta.endpoint_url
    kwargs: dict[str, Any] = {"region": client.meta.region_name or "us-east-1"}
    if frozen is not None:
        kwargs |= {
            "access_key": frozen.access_key,
            "secret_key": frozen.secret_key,
            "session_token": frozen.token,
        }
    if endpoint and not endpoint.endswith("amazonaws.com"):
        scheme, _, host = endpoint.partition("://")
        kwargs |= {"endpoint_override": host, "scheme": scheme, "force_virtual_addressing": False}
    return fs.S3FileSystem(**kwargs), uri.removeprefix("s3://")


def _dataset(catalogue: Catalogue, spec: SourceSpec):  # noqa: ANN202 - pyarrow.dataset.Dataset
    import pyarrow.dataset as ds

    uri = catalogue.resolve(spec.dataset or "")
    filesystem, path = _filesystem(uri)
    fmt = spec.format or ("csv" if path.lower().endswith(".csv") else "parquet")
    try:
        return ds.dataset(path, format=fmt, filesystem=filesystem, partitioning=spec.partitioning)
    except (FileNotFoundError, OSError, pa.ArrowInvalid) as exc:
        raise CatalogueError(f"cannot open dataset {uri}: {exc}") from exc


def table_dataset(catalogue: Catalogue, name: str):  # noqa: ANN201 - pyarrow.dataset.Dataset
    """The pyarrow dataset of a `product_data` table that is a dataset (local or s3://)."""
    return _dataset(catalogue, catalogue.tables[name])  # type: ignore[arg-type]


def _dataset_batches(
    catalogue: Catalogue, spec: SourceSpec, account_id: str, columns: list[str] | None
) -> Iterator[pa.RecordBatch]:
    import pyarrow.dataset as ds

    dataset = _dataset(catalogue, spec)
    if spec.account_column not in dataset.schema.names:
        raise CatalogueError(f"{spec.dataset}: no account column {spec.account_column!r}")
    expr = ds.field(spec.account_column) == account_id
    # One Parquet row group at a time: fragments whose partition or row-group statistics rule
    # the account out are skipped unread (predicate pushdown), and nothing is decoded far ahead
    # of the consumer (a whole-dataset scanner buffered hundreds of MB ahead of a slow upload).
    for fragment in dataset.get_fragments(filter=expr):
        pieces = (
            fragment.split_by_row_group(expr, schema=dataset.schema)
            if isinstance(fragment, ds.ParquetFileFragment)
            else [fragment]
        )
        for piece in pieces:
            for batch in piece.to_batches(
                schema=dataset.schema,
                columns=columns,
                filter=expr,
                batch_size=spec.batch_rows,
                batch_readahead=1,
                fragment_readahead=1,
                use_threads=True,
            ):
                if batch.num_rows:
                    yield batch


def _sql_batches(
    spec: SourceSpec, account_id: str, columns: list[str] | None
) -> Iterator[pa.RecordBatch]:
    from sqlalchemy import create_engine, text

    engine = create_engine(_expand(spec.url or ""))
    try:
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=spec.batch_rows).execute(
                text(spec.sql or ""), {"account_id": account_id}
            )
            names = list(result.keys())
            keep = [names.index(c) for c in columns] if columns else list(range(len(names)))
            schema: pa.Schema | None = None
            for rows in result.partitions(spec.batch_rows):
                arrays = {names[i]: [r[i] for r in rows] for i in keep}
                batch = _to_batch(arrays, schema)
                schema = schema or batch.schema
                yield batch
    finally:
        engine.dispose()


def _to_batch(columns: dict[str, list[Any]], schema: pa.Schema | None) -> pa.RecordBatch:
    """Rows from a DB-API cursor as one batch; later batches keep the first batch's types."""
    if schema is not None:
        try:
            return pa.record_batch(
                [pa.array(v, type=f.type) for f, v in zip(schema, columns.values(), strict=True)],
                schema=schema,
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise CatalogueError(f"SQL source changed a column's type mid-stream: {exc}") from exc
    arrays = []
    for values in columns.values():
        arr = pa.array(values)
        arrays.append(arr.cast(pa.string()) if pa.types.is_null(arr.type) else arr)
    return pa.record_batch(arrays, names=list(columns))


#: Where the sample dataset lives when no catalogue file is configured.
SAMPLE_DIR_NAME = "sample-data"


def catalogue_path(state_dir: Path) -> Path | None:
    """The configured catalogue: `OFFBOARDING_CATALOGUE_FILE`, else the state dir's sample
    dataset if one was written; None when neither exists yet."""
    configured = os.environ.get("OFFBOARDING_CATALOGUE_FILE", "").strip()
    if configured:
        return Path(configured)
    default = Path(state_dir) / SAMPLE_DIR_NAME / "catalogue.yaml"
    return default if default.exists() else None


def active_catalogue(state_dir: Path, accounts: Callable[[], list[str]]) -> Catalogue:
    """The catalogue exports read; with none configured, the sample dataset is generated into
    the state dir on first use for `accounts()` (the demo's path)."""
    path = catalogue_path(state_dir)
    if path is None:
        from offboarding.export.sample_data import ensure_sample_dataset

        path = ensure_sample_dataset(Path(state_dir) / SAMPLE_DIR_NAME, accounts())
    return load_catalogue(path)
