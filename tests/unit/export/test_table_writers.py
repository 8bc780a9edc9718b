"""CSV and JSON Lines writers: what comes out parses back to exactly what went in."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from offboarding.export.table_writers import (
    RowCounter,
    csv_chunks,
    jsonl_chunks,
    jsonl_chunks_per_row,
)

TRICKY = [
    "plain",
    "comma, inside",
    'double "quotes" inside',
    "line\nbreak and\r\ncrlf",
    "日本語のテキスト、カンマ付き",
    "back\\slash and tab\t and bell\x07",
    "",
    None,
]


def tricky_batches() -> list[pa.RecordBatch]:
    n = len(TRICKY)
    batch = pa.record_batch(
        {
            "id": pa.array(range(n), pa.int64()),
            "text": pa.array(TRICKY, pa.string()),
            "amount": pa.array([1.5, -2.25, None, 0.0, 1e20, float("nan"), 3.0, 4.5]),
            "active": pa.array([True, False, None, True, False, True, False, True]),
            "day": pa.array([dt.date(2025, 3, i + 1) if i != 2 else None for i in range(n)]),
            "at": pa.array(
                [dt.datetime(2025, 3, 3, 9, 30, i, 1000 * i) for i in range(n)], pa.timestamp("us")
            ),
            "at_utc": pa.array(
                [dt.datetime(2025, 3, 3, 9, 30, i) for i in range(n)], pa.timestamp("s", tz="UTC")
            ),
            "at_tokyo": pa.array(
                [dt.datetime(2025, 3, 3, 9, 30, i) for i in range(n)],
                pa.timestamp("ms", tz="Asia/Tokyo"),
            ),
            "plan": pa.array(["pro", "team"] * (n // 2)).dictionary_encode(),
            "price": pa.array([Decimal("12.34")] * n, pa.decimal128(10, 2)),
        }
    )
    # several batches, so the header must appear once and rows must keep their order
    return [batch.slice(0, 3), batch.slice(3, 0), batch.slice(3)]


def expected_rows() -> list[dict]:
    return pa.Table.from_batches(tricky_batches()).to_pylist()


# -- CSV --------------------------------------------------------------------------------------


def test_csv_parses_back_with_pyarrow() -> None:
    data = b"".join(csv_chunks(tricky_batches()))
    schema = tricky_batches()[0].schema
    opts = pacsv.ConvertOptions(
        column_types={"text": pa.string(), "plan": pa.string()},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    table = pacsv.read_csv(
        io.BytesIO(data),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=opts,
    )
    assert table.column_names == schema.names
    assert table.num_rows == len(TRICKY)
    # null strings come back as "" (CSV has no null); every other string is exact
    assert table["text"].to_pylist() == [t if t is not None else "" for t in TRICKY]
    assert table["id"].to_pylist() == list(range(len(TRICKY)))
    assert table["plan"].to_pylist() == ["pro", "team"] * 4


def test_csv_parses_back_with_python_csv_module() -> None:
    text = b"".join(csv_chunks(tricky_batches())).decode("utf-8")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == tricky_batches()[0].schema.names  # the header, once
    assert len(rows) == 1 + len(TRICKY)
    assert [r[1] for r in rows[1:]] == [t if t is not None else "" for t in TRICKY]
    assert rows[1][0] == "0" and rows[-1][0] == str(len(TRICKY) - 1)


def test_csv_header_only_with_schema_and_nothing_without() -> None:
    schema = pa.schema([("a", pa.int64()), ("b", pa.string())])
    assert b"".join(csv_chunks([], schema=schema)) == b"a,b\n"
    assert list(csv_chunks([])) == []
    odd = pa.schema([("a", pa.int64()), ("blob", pa.binary())])  # the pyarrow writer's path
    assert b"".join(csv_chunks([], schema=odd)) == b'"a","blob"\n'


def test_csv_yields_one_chunk_per_batch_and_header_once() -> None:
    batch = pa.record_batch({"n": pa.array(range(1000))})
    chunks = list(csv_chunks([batch] * 5))
    assert len(chunks) == 5
    assert b"".join(chunks).startswith(b"n\n0\n")
    assert b"".join(chunks).count(b"n\n") == 1
    assert b"".join(chunks).count(b"\n") == 5001


def _parse_type(t: pa.DataType) -> pa.DataType:
    if pa.types.is_dictionary(t):
        return t.value_type
    if pa.types.is_timestamp(t):  # the text may carry more fraction than the unit holds
        return pa.timestamp("ns", t.tz)
    return t


def _read_back(data: bytes, schema: pa.Schema) -> pa.Table:
    return pacsv.read_csv(
        io.BytesIO(data),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types={f.name: _parse_type(f.type) for f in schema},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


def test_csv_values_round_trip_with_their_types() -> None:
    """Numbers, booleans, dates, decimals and naive and zoned timestamps come back equal."""
    table = pa.Table.from_batches(tricky_batches())
    back = _read_back(b"".join(csv_chunks(tricky_batches())), table.schema)
    for name in ("id", "amount", "active", "day", "at", "at_utc", "at_tokyo", "price"):
        want, got = table[name].to_pylist(), back[name].to_pylist()
        if name == "amount":  # NaN != NaN
            want, got = ([None if v != v else v for v in x] for x in (want, got))
        assert got == want, name
    text = b"".join(csv_chunks(tricky_batches())).decode()
    assert "2025-03-03T09:30:01.001000," in text  # ISO 8601, naive
    assert "2025-03-03T18:30:01.000+0900," in text  # zoned: local time and offset


def test_csv_tells_empty_strings_from_nulls() -> None:
    lines = b"".join(csv_chunks(tricky_batches())).decode().split("\n")
    assert lines[-3].split(",")[1] == '""'  # TRICKY[-2] is ""
    assert lines[-2].split(",")[1] == ""  # TRICKY[-1] is None


def test_csv_falls_back_to_pyarrow_for_types_polars_cannot_write() -> None:
    batch = pa.record_batch({"id": pa.array([1, 2]), "blob": pa.array([b"ab", None])})
    data = b"".join(csv_chunks([batch]))
    assert data == b'"id","blob"\n1,"ab"\n2,\n'


# -- JSON Lines -------------------------------------------------------------------------------


def parse_jsonl(data: bytes) -> list[dict]:
    text = data.decode("utf-8")
    assert text.endswith("\n")
    return [json.loads(line) for line in text.split("\n")[:-1]]


def test_jsonl_lines_parse_and_match_rows() -> None:
    rows = parse_jsonl(b"".join(jsonl_chunks(tricky_batches())))
    expected = expected_rows()
    assert len(rows) == len(expected)
    for got, want in zip(rows, expected, strict=True):
        assert list(got) == list(want)  # column order kept
        assert got["id"] == want["id"]
        assert got["text"] == want["text"]  # commas, quotes, newlines, Japanese, controls
        assert got["active"] == want["active"]
        assert got["plan"] == want["plan"]
        assert got["day"] == (want["day"].isoformat() if want["day"] else None)
        assert dt.datetime.fromisoformat(got["at"]) == want["at"]
        assert dt.datetime.fromisoformat(got["at_utc"]) == want["at_utc"]
        assert dt.datetime.fromisoformat(got["at_tokyo"]) == want["at_tokyo"]
        assert Decimal(str(got["price"])) == want["price"]
        amount = want["amount"]
        if amount is None or amount != amount:  # null and NaN are both null
            assert got["amount"] is None
        else:
            assert got["amount"] == amount


def test_jsonl_timestamps_are_iso_8601() -> None:
    first = parse_jsonl(b"".join(jsonl_chunks(tricky_batches())))[1]
    assert first["at"] == "2025-03-03T09:30:01.001000"
    assert first["at_utc"] == "2025-03-03T09:30:01Z"
    assert first["at_tokyo"] == "2025-03-03T18:30:01.000+09:00"
    assert first["day"] == "2025-03-02"


def test_jsonl_every_line_is_one_row_even_with_newlines_in_values() -> None:
    data = b"".join(jsonl_chunks(tricky_batches()))
    assert data.count(b"\n") == len(TRICKY)


def test_jsonl_matches_per_row_reference() -> None:
    fast = parse_jsonl(b"".join(jsonl_chunks(tricky_batches())))
    slow = parse_jsonl(b"".join(jsonl_chunks_per_row(tricky_batches())))
    for a, b in zip(fast, slow, strict=True):
        for key in ("id", "text", "active", "plan", "day"):
            assert a[key] == b[key]


def test_jsonl_falls_back_for_nested_and_binary_types() -> None:
    batch = pa.record_batch(
        {
            "tags": pa.array([["a", "b"], None]),
            "blob": pa.array([b"\x00\x01", None], pa.binary()),
            "nothing": pa.nulls(2),
        }
    )
    rows = parse_jsonl(b"".join(jsonl_chunks([batch])))
    assert rows == [
        {"tags": ["a", "b"], "blob": "AAE=", "nothing": None},
        {"tags": None, "blob": None, "nothing": None},
    ]


def test_jsonl_large_batch_is_sliced_but_complete() -> None:
    n = 150_000
    batch = pa.record_batch({"i": pa.array(range(n)), "s": pa.array([f"r{i}" for i in range(n)])})
    chunks = list(jsonl_chunks([batch]))
    assert len(chunks) == 3  # 65,536-row slices
    lines = b"".join(chunks).split(b"\n")[:-1]
    assert len(lines) == n
    assert json.loads(lines[-1]) == {"i": n - 1, "s": f"r{n - 1}"}


@pytest.mark.parametrize("writer", [csv_chunks, jsonl_chunks])
def test_row_counter_counts_what_streamed(writer) -> None:  # noqa: ANN001
    counted = RowCounter(tricky_batches())
    assert int(counted) == 0
    b"".join(writer(counted))
    assert int(counted) == len(TRICKY)
