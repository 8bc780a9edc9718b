"""Source catalogue, writers and documents of the export, without servers."""

from __future__ import annotations

import io
import json
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from pypdf import PdfReader

from offboarding.export.catalogue import (
    CatalogueError,
    load_catalogue,
    open_source,
    parse_catalogue,
)
from offboarding.export.deletion_certificate import build_certificate, certificate_pdf
from offboarding.export.exporter import AccountGuard, document_bytes
from offboarding.export.jsonl_writer import jsonl_stream
from offboarding.export.report import SummaryTap
from offboarding.export.sample_data import write_sample_dataset
from offboarding.export.table_writers import jsonl_chunks_per_row

CATS = {
    "account_and_users": {"source": {"dataset": "u.parquet"}, "formats": ["csv", "json"]},
    "content": {"source": {"dataset": "c.csv"}},
    "usage": {"source": {"dataset": "usage/", "partitioning": "hive"}, "formats": ["jsonl"]},
    "integrations_and_configuration": {"source": {"dataset": "cfg.parquet"}, "formats": ["json"]},
    "generated_reports": {
        "source": {"sql": "SELECT * FROM reports WHERE acct = :account_id", "url": "sqlite://"}
    },
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"billing": {"source": {"dataset": "x"}}}, "unknown categories"),
        ({"content": None}, "missing"),
        ({"content": {"source": {"dataset": "a", "sql": "b", "url": "c"}}}, "exactly one"),
        ({"content": {"source": {"sql": "SELECT 1", "url": "sqlite://"}}}, ":account_id"),
        ({"content": {"source": {"sql": "SELECT :account_id"}}}, "needs `url`"),
        ({"content": {"source": {"dataset": "a"}, "formats": ["xml"]}}, "content"),
        ({"content": {"source": {"dataset": "a"}, "formats": ["csv", "csv"]}}, "repeats"),
    ],
)
def test_bad_catalogues_are_refused_with_the_reason(change: dict, message: str) -> None:
    cats = {**CATS, **change}
    cats = {k: v for k, v in cats.items() if v is not None}
    with pytest.raises(CatalogueError, match=message):
        parse_catalogue({"categories": cats}, Path("."))


def test_parts_are_every_category_times_its_formats() -> None:
    cat = parse_catalogue({"categories": CATS}, Path("."))
    assert cat.parts() == [
        ("account_and_users", "csv"),
        ("account_and_users", "json"),
        ("content", "csv"),
        ("usage", "jsonl"),
        ("integrations_and_configuration", "json"),
        ("generated_reports", "csv"),
    ]


def test_large_tables_go_first_so_the_longest_uploads_start_at_once() -> None:
    cats = {**CATS, "content": {"source": {"dataset": "c"}, "formats": ["jsonl", "csv"]}}
    cat = parse_catalogue({"categories": cats}, Path("."))
    assert cat.parts_largest_first() == [
        ("content", "jsonl"),
        ("content", "csv"),
        ("usage", "jsonl"),
        ("account_and_users", "csv"),
        ("account_and_users", "json"),
        ("integrations_and_configuration", "json"),
        ("generated_reports", "csv"),
    ]
    assert sorted(cat.parts_largest_first()) == sorted(cat.parts())


def test_unset_environment_variable_in_a_url_is_an_error(tmp_path: Path) -> None:
    cats = {
        **CATS,
        "generated_reports": {"source": {"sql": "SELECT :account_id", "url": "${NOPE_X}"}},
    }
    cat = parse_catalogue({"categories": cats}, tmp_path)
    with pytest.raises(CatalogueError, match="NOPE_X"):
        list(open_source(cat, "generated_reports", "A"))


def _interleaved(n: int = 10_000) -> pa.Table:
    return pa.table(
        {
            "account_id": [("A", "B", "AB")[i % 3] for i in range(n)],
            "n": list(range(n)),
            "note": [f'x, "y"\n{i}' for i in range(n)],
        }
    )


@pytest.mark.parametrize("layout", ["parquet", "csv", "hive"])
def test_dataset_sources_return_only_the_accounts_rows(tmp_path: Path, layout: str) -> None:
    table = _interleaved()
    if layout == "parquet":
        pq.write_table(table, tmp_path / "t.parquet", row_group_size=1000)
        source = {"dataset": "t.parquet", "batch_rows": 1000}
    elif layout == "csv":
        pacsv.write_csv(table, tmp_path / "t.csv")
        source = {"dataset": "t.csv", "batch_rows": 1000}
    else:
        pq.write_to_dataset(table, tmp_path / "t", partition_cols=["account_id"])
        source = {"dataset": "t", "partitioning": "hive", "batch_rows": 1000}
    cats = {c: {"source": source} for c in CATS}
    cat = parse_catalogue({"categories": cats}, tmp_path)
    rows = pa.Table.from_batches(list(open_source(cat, "usage", "A"))).to_pylist()
    expected = [r for r in table.to_pylist() if r["account_id"] == "A"]
    key = lambda r: r["n"]  # noqa: E731
    assert sorted(rows, key=key) == sorted(({**r, "account_id": "A"} for r in expected), key=key)
    assert {r["account_id"] for r in rows} == {"A"}  # not "AB"


def test_parquet_row_groups_without_the_account_are_not_read(tmp_path: Path) -> None:
    """Predicate pushdown: statistics rule out row groups; only one is decoded."""
    table = pa.table({"account_id": ["A"] * 1000 + ["B"] * 1000, "n": list(range(2000))})
    pq.write_table(table, tmp_path / "t.parquet", row_group_size=1000)
    cats = {c: {"source": {"dataset": "t.parquet", "batch_rows": 1000}} for c in CATS}
    cat = parse_catalogue({"categories": cats}, tmp_path)
    import pyarrow.dataset as ds

    frag = next(ds.dataset(tmp_path / "t.parquet").get_fragments())
    kept = frag.split_by_row_group(ds.field("account_id") == "B")
    assert len(kept) == 1
    assert sum(b.num_rows for b in open_source(cat, "usage", "B")) == 1000


def test_sql_source_streams_with_the_bound_account(tmp_path: Path) -> None:
    db = tmp_path / "product.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE reports (acct TEXT, title TEXT, n INTEGER, note TEXT)")
        conn.executemany(
            "INSERT INTO reports VALUES (?, ?, ?, ?)",
            [(("A", "B")[i % 2], f"r{i}", i, None if i < 2500 else "late") for i in range(5000)],
        )
    cats = {
        **CATS,
        "generated_reports": {
            "source": {
                "sql": "SELECT acct AS account_id, title, n, note FROM reports "
                "WHERE acct = :account_id ORDER BY n",
                "url": f"sqlite:///{db}",
                "batch_rows": 1000,
            }
        },
    }
    cat = parse_catalogue({"categories": cats}, tmp_path)
    batches = list(open_source(cat, "generated_reports", "B"))
    assert len(batches) == 3 and all(b.schema == batches[0].schema for b in batches)
    rows = pa.Table.from_batches(batches).to_pylist()
    assert len(rows) == 2500 and {r["account_id"] for r in rows} == {"B"}
    assert rows[-1]["note"] == "late" and rows[0]["note"] is None


def test_injection_in_the_account_id_is_only_a_value(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (account_id TEXT)")
        conn.executemany("INSERT INTO t VALUES (?)", [("A",), ("B",)])
    cats = {
        **CATS,
        "content": {
            "source": {
                "sql": "SELECT * FROM t WHERE account_id = :account_id",
                "url": f"sqlite:///{db}",
            }
        },
    }
    cat = parse_catalogue({"categories": cats}, tmp_path)
    assert list(open_source(cat, "content", "A' OR '1'='1")) == []


def test_account_guard_stops_a_leaking_source() -> None:
    good = pa.record_batch({"account_id": ["A", "A"], "n": [1, 2]})
    bad = pa.record_batch({"account_id": ["A", "B"], "n": [3, 4]})
    assert list(AccountGuard([good], "account_id", "A")) == [good]
    with pytest.raises(CatalogueError, match="another account"):
        list(AccountGuard([good, bad], "account_id", "A"))


def test_fast_jsonl_parses_to_the_same_values_as_the_reference() -> None:
    batch = pa.record_batch(
        {
            "s": pa.array(['a "q"\n\\', None, "日本"]),
            "i": pa.array([1, None, 3]),
            "f": pa.array([1.5, float("nan"), None]),
            "b": pa.array([True, False, None]),
            "ts": pa.array(
                [datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)] * 3, pa.timestamp("s", "UTC")
            ),
        }
    )
    fast = b"".join(jsonl_stream([batch])).decode().splitlines()
    ref = b"".join(jsonl_chunks_per_row([batch])).decode().splitlines()
    got = [json.loads(x) for x in fast]
    want = [json.loads(x) for x in ref]
    for g, w in zip(got, want, strict=True):
        assert {k: v for k, v in g.items() if k != "ts"} == {
            k: (None if isinstance(v, float) and v != v else v) for k, v in w.items() if k != "ts"
        }
        assert datetime.fromisoformat(g["ts"]) == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    # a naive timestamp goes to the vectorised writer (ISO 8601 with "T")
    naive = pa.record_batch({"t": pa.array([datetime(2024, 1, 2, 3, 4, 5)], pa.timestamp("s"))})
    assert json.loads(b"".join(jsonl_stream([naive])))["t"] == "2024-01-02T03:04:05"


def test_sample_dataset_documents_and_summary(tmp_path: Path) -> None:
    from offboarding.domain import Account

    ds = write_sample_dataset(tmp_path / "d", ["X-1", "X-2"], 5_000)
    cat = load_catalogue(ds.catalogue)
    account = Account.model_validate(
        json.loads(
            (Path(__file__).parents[3] / "offboarding/sample_data/accounts.json").read_text()
        )[0]
        | {"account_id": "X-1"}
    )
    data, rows = document_bytes(
        cat,
        "integrations_and_configuration",
        account,
        open_source(cat, "integrations_and_configuration", "X-1"),
    )
    doc = json.loads(data)
    assert rows == 8 and set(doc) == {
        "account_id",
        "category",
        "integrations",
        "settings",
        "workflows",
    }
    users, n = document_bytes(
        cat, "account_and_users", account, open_source(cat, "account_and_users", "X-1")
    )
    udoc = json.loads(users)
    assert n == len(udoc["users"]) == 40 and "health" not in udoc["account"]
    tap = SummaryTap(open_source(cat, "usage", "X-1"), "ts", "event")
    total = sum(b.num_rows for b in tap)
    summary = tap.to_dict()
    assert (
        summary["rows"]
        == total
        == sum(summary["months"].values())
        == sum(summary["groups"].values())
    )
    assert 0 < total < 5_000


def test_summary_counts_months_in_the_columns_time_zone() -> None:
    # 2025-01-31 20:00 UTC is already February in Tokyo
    at = [datetime(2025, 1, 31, 20, tzinfo=UTC), datetime(2025, 3, 1, tzinfo=UTC), None]
    batch = pa.record_batch(
        {
            "ts": pa.array(at, pa.timestamp("ms", tz="Asia/Tokyo")),
            "day": pa.array([date(2024, 12, 31), date(2025, 1, 1), None]),
            "event": ["a", "b", "a"],
        }
    )
    tokyo = SummaryTap([batch], "ts", "event")
    assert sum(b.num_rows for b in tokyo) == 3
    assert tokyo.to_dict()["months"] == {"2025-02": 1, "2025-03": 1}
    assert tokyo.to_dict()["groups"] == {"a": 2, "b": 1}
    days = SummaryTap([batch], "day", None)
    list(days)
    assert days.to_dict()["months"] == {"2024-12": 1, "2025-01": 1}
    assert days.to_dict()["first"] == "2024-12-31" and days.to_dict()["last"] == "2025-01-01"


def test_certificate_pdf_is_reproducible_and_states_backup_expiry() -> None:
    cert = build_certificate(
        case_id="C-1",
        account_id="A",
        account_name="Acme",
        deleted_at=datetime(2026, 3, 31, 12, tzinfo=UTC),
        run_id="run-1",
        trigger="scheduled",
        prefix="exports/A",
        objects=[{"key": "exports/A/E/usage.csv", "bytes": 10, "sha256": "ab" * 32}],
        remaining_objects=0,
        unfinished_uploads=0,
        erased={"contacts": 2},
        closed_on=date(2025, 12, 31),
        retention_days=90,
        planned_purge_on=date(2026, 3, 31),
        backup_months=12,
    )
    assert cert["retention"]["backups_expire_on"] == "2027-03-31"
    assert cert["verification"]["empty"] is True
    pdf = certificate_pdf(cert)
    assert pdf == certificate_pdf(cert)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    # dates are written for the reader (English here), not as ISO strings
    assert "DC-C-1" in text and "March 31, 2027" in text and "exports/A/E/usage.csv" in text
