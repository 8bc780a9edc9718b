"""The usage feed aggregated by DuckDB from Parquet is the frame polars builds, row for row
(renamed columns, naive times, a folder of files, ids outside the population included), so
the whole scan over it still equals the per-account reference; a source DuckDB cannot read
as it is falls back to the polars path."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from offboarding.early_warning import queue
from offboarding.early_warning.sample import population as P
from offboarding.early_warning.selection import ScanFrames
from offboarding.early_warning.signals.usage_duckdb import (
    aggregate_usage,
    local_parquet_source,
    per_feature_schema,
)
from offboarding.early_warning.usage import usage_keys, usage_per_feature
from offboarding.export.catalogue import Catalogue, TableSpec
from offboarding.policy import Policy
from tests.unit.early_warning.test_selection import DAY, TOUCHY, reference, tables_of

COLUMNS = ["account_id", "cause", "evidence", "impact", "urgency", "level", "base", "points",
           "respond_within_hours"]  # fmt: skip


def _catalogue(base: Path, usage: dict) -> Catalogue:
    """A catalogue with only its product section: the part the scan reads."""
    return Catalogue({}, base, tables={"usage_events": TableSpec.model_validate(usage)})


@pytest.fixture(scope="module")
def tables() -> dict[str, pl.DataFrame]:
    ids = [f"A{i:04d}" for i in range(300)]
    pop = P.plan(ids, DAY, usage_rows=120_000, seed=7, quiet=False, plants={}, plant_share=0.25)
    t = tables_of(pop)
    # the population leaves some accounts of the feed out: their events count for no one
    t["accounts"] = t["accounts"].filter(pl.col("account_id") != "A0007")
    return t


def _polars(t: dict[str, pl.DataFrame], policy: Policy) -> pl.DataFrame:
    usage, accounts = t["usage_events"].lazy(), t["accounts"].lazy()
    keys = usage_keys(usage, accounts, DAY, policy)
    return usage_per_feature(usage, keys, DAY, policy).collect()


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort("account_id", "feature", nulls_last=True)


@pytest.mark.parametrize("policy", [Policy(), TOUCHY], ids=["defaults", "touchy"])
def test_duckdb_aggregation_is_the_polars_frame(tables, policy, tmp_path: Path) -> None:
    path = tmp_path / "usage.parquet"
    tables["usage_events"].write_parquet(path)
    got = aggregate_usage(str(path), {}, tables["accounts"], DAY, policy)
    want = _polars(tables, policy)
    assert got is not None and got.schema == want.schema == pl.Schema(per_feature_schema(policy))
    assert want.height > 1000 and "A0007" not in set(got["account_id"])
    assert _sorted(got).equals(_sorted(want))


def test_renamed_columns_naive_times_and_a_folder(tables, tmp_path: Path) -> None:
    theirs = tables["usage_events"].select(
        pl.col("account_id").alias("acct"),
        pl.col("ts").dt.replace_time_zone(None).alias("event_time"),  # naive: read as UTC
        pl.col("feature").alias("module"),
    )
    folder = tmp_path / "usage"
    for n, part in enumerate(theirs.iter_slices(50_000)):
        (folder / f"day={n}").mkdir(parents=True)
        part.write_parquet(folder / f"day={n}" / "part.parquet")
    spec = {"dataset": "usage", "rename": {"account_id": "acct", "ts": "event_time",
                                           "feature": "module"}}  # fmt: skip
    source = local_parquet_source(_catalogue(tmp_path, spec))
    assert source is not None
    got = aggregate_usage(*source, tables["accounts"], DAY, Policy())
    assert got is not None
    assert _sorted(got).equals(_sorted(_polars(tables, Policy())))


def test_the_scan_over_the_duckdb_frame_equals_the_reference(tables, tmp_path: Path) -> None:
    path = tmp_path / "usage.parquet"
    tables["usage_events"].write_parquet(path)
    per_feature = aggregate_usage(str(path), {}, tables["accounts"], DAY, TOUCHY)
    frames = ScanFrames(**{k: v.lazy() for k, v in tables.items()}, usage_per_feature=per_feature)
    out, _ = queue.scan(frames, DAY, TOUCHY)
    got = [tuple(r) for r in out.select(COLUMNS).iter_rows()]
    assert len(got) > 60 and got == reference(tables, TOUCHY)


def test_a_text_time_column_falls_back_to_polars(tables, tmp_path: Path) -> None:
    path = tmp_path / "usage.parquet"
    tables["usage_events"].with_columns(pl.col("ts").dt.to_string()).write_parquet(path)
    assert aggregate_usage(str(path), {}, tables["accounts"], DAY, Policy()) is None


@pytest.mark.parametrize(
    "spec",
    [
        {"dataset": "usage.csv"},
        {"dataset": "s3://bucket/usage.parquet"},
        {"url": "sqlite:///x.db", "sql": "SELECT * FROM usage"},
        {"dataset": "missing.parquet"},
    ],
    ids=["csv", "s3", "sql", "missing"],
)
def test_other_sources_keep_the_polars_path(spec: dict, tmp_path: Path) -> None:
    (tmp_path / "usage.csv").write_text("account_id,ts,feature\n", encoding="utf-8")
    assert local_parquet_source(_catalogue(tmp_path, spec)) is None
