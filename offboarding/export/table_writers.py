"""Turn a stream of Arrow record batches into a stream of CSV or JSON Lines bytes.

Each batch becomes one or a few chunks and is then dropped, so memory follows the batch size,
not the table size; the chunks feed `ObjectStore.stream_upload` directly.

JSON Lines is built with vectorised Arrow string kernels: per column, cast or escape the values
to JSON text, then one element-wise join per row. Measured on 1 M synthetic usage rows (7
columns, 191 MB of JSONL; 2 shared cores, median of 3): vectorised 0.78 s (~245 MB/s), orjson
per row 5.4 s, `json.dumps` per row 13.9 s (`jsonl_chunks_per_row`, kept as the reference the
tests compare against). Types with no cheap
vectorised encoding (lists, structs, binary, durations, ...) fall back to `json.dumps` per value
for that column only.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import itertools
import json
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

__all__ = [
    "CSV_CONTENT_TYPE",
    "JSONL_CONTENT_TYPE",
    "RowCounter",
    "csv_chunks",
    "jsonl_chunks",
    "jsonl_chunks_per_row",
    "polars_plain_type",
]

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
JSONL_CONTENT_TYPE = "application/x-ndjson; charset=utf-8"

_JSONL_SLICE_ROWS = 65_536  # bounds the temporary string arrays built per slice


class RowCounter:
    """Counts rows while batches stream through; `int(counter)` once they are consumed:
    `counted = RowCounter(batches)`, then
    `store.stream_upload(key, csv_chunks(counted), CSV_CONTENT_TYPE, rows=counted)`.
    """

    def __init__(self, batches: Iterable[pa.RecordBatch]) -> None:
        self._batches = batches
        self.rows = 0

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        for batch in self._batches:
            self.rows += batch.num_rows
            yield batch

    def __int__(self) -> int:
        return self.rows


def csv_chunks(
    batches: Iterable[pa.RecordBatch], schema: pa.Schema | None = None
) -> Iterator[bytes]:
    """UTF-8 CSV: header once, then rows; RFC 4180 quoting (fields quoted when they hold a
    comma, quote or line break, `"` doubled; the empty string as `""`), nulls as empty fields,
    "\n" line ends, timestamps as ISO 8601 (aware ones with their offset).

    polars writes it when it can write every column (measured on 1 M usage rows: 0.53 s of
    CPU against pyarrow's `CSVWriter` 1.31 s); other schemas (binary, durations, ...) go to
    pyarrow's writer. With no batches and no `schema` nothing is produced; with a schema, just
    the header.
    """
    it = iter(batches)
    first = next(it, None)
    if first is None and schema is None:
        return
    schema = schema if schema is not None else first.schema
    rest = itertools.chain([first] if first is not None else [], it)
    if all(_polars_csv_can_write(f.type) for f in schema):
        yield from _polars_csv(schema, rest)
    else:
        yield from _pyarrow_csv(schema, rest)


def polars_plain_type(t: pa.DataType) -> bool:
    """Scalar types polars writes as-is to both CSV and JSON (numbers, booleans, strings,
    dates, decimals, nulls); each writer adds its own rules for timestamps and nesting."""
    return (
        pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_boolean(t)
        or pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_date(t)
        or pa.types.is_decimal(t)
        or pa.types.is_null(t)
    )


def _polars_csv_can_write(t: pa.DataType) -> bool:
    if pa.types.is_dictionary(t):
        return _polars_csv_can_write(t.value_type)
    return pa.types.is_timestamp(t) or polars_plain_type(t)


def _polars_csv(schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> Iterator[bytes]:
    import polars as pl  # only the export needs it; the CLI starts faster without

    sink = io.BytesIO()
    header = True
    for batch in batches:
        if not batch.num_rows:
            continue
        pl.from_arrow(batch, rechunk=False).write_csv(sink, include_header=header)
        header = False
        yield _drain(sink)
    if header:  # no rows at all: the header alone
        pl.from_arrow(schema.empty_table()).write_csv(sink)
        yield _drain(sink)


def _pyarrow_csv(schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> Iterator[bytes]:
    sink = io.BytesIO()
    with pacsv.CSVWriter(sink, schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
            if sink.tell():
                yield _drain(sink)
    if sink.tell():
        yield _drain(sink)


def _drain(sink: io.BytesIO) -> bytes:
    data = sink.getvalue()
    sink.seek(0)
    sink.truncate()
    return data


def jsonl_chunks(batches: Iterable[pa.RecordBatch]) -> Iterator[bytes]:
    """JSON Lines, one object per row in column order; dates and timestamps as ISO 8601
    strings (timezone-aware ones with their offset, UTC as "Z"), nulls and NaN/inf as null."""
    for batch in batches:
        keys = [json.dumps(name, ensure_ascii=False) for name in batch.schema.names]
        for start in range(0, batch.num_rows, _JSONL_SLICE_ROWS):
            yield _jsonl_slice(batch.slice(start, _JSONL_SLICE_ROWS), keys)


def _jsonl_slice(batch: pa.RecordBatch, keys: list[str]) -> bytes:
    # One element-wise join per row: literal, values, literal, values, ..., literal.
    # Quotes of null-free string columns go into the literals, saving a join per column.
    args: list[Any] = []
    literal = "{"
    for i, (key, column) in enumerate(zip(keys, batch.columns, strict=True)):
        literal += ("," if i else "") + key + ":"
        text, quoted = _json_text(column)
        if quoted and text.null_count == 0:
            args += [_lit(literal + '"'), text]
            literal = '"'
        else:
            args += [_lit(literal), (_quote(text) if quoted else text).fill_null("null")]
            literal = ""
    if not args:  # no columns
        return b"{}\n" * batch.num_rows
    args += [_lit(literal + "}\n"), _lit("")]  # the last argument is the separator
    return _string_bytes(pc.binary_join_element_wise(*args))


def _lit(text: str) -> pa.Scalar:
    return pa.scalar(text, pa.large_string())


def _value_bytes(arr: pa.Array) -> np.ndarray:
    """The UTF-8 bytes of all values of a large_string array, without copying."""
    _, offsets, data = arr.buffers()
    if data is None:
        return np.empty(0, np.uint8)
    bounds = np.frombuffer(offsets, np.int64)
    return np.frombuffer(data, np.uint8)[bounds[arr.offset] : bounds[arr.offset + len(arr)]]


def _string_bytes(arr: pa.Array) -> bytes:
    """The concatenated values of a null-free large_string array, from its data buffer."""
    return _value_bytes(arr).tobytes()


def _quote(arr: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise(_lit('"'), arr, _lit('"'), _lit(""))


def _escape(arr: pa.Array) -> pa.Array:
    """JSON string escaping (backslash, quote, control characters), inner text only.

    Which characters occur is read off the raw bytes with numpy (memory speed); the Arrow
    replace kernels, which copy the column, run only for characters that occur.
    """
    raw = _value_bytes(arr)
    present = np.unique(raw[(raw < 32) | (raw == 34) | (raw == 92)])
    for code in sorted(present.tolist(), key=lambda c: c != 92):  # backslash first
        arr = pc.replace_substring(arr, chr(code), _ESCAPES[code])
    return arr


_ESCAPES = {c: f"\\u{c:04x}" for c in range(32)} | {
    8: "\\b",
    9: "\\t",
    10: "\\n",
    12: "\\f",
    13: "\\r",
    34: '\\"',
    92: "\\\\",
}


def _json_text(col: pa.Array) -> tuple[pa.Array, bool]:
    """Each value as JSON text (nulls stay null), and whether it still needs quotes."""
    t = col.type
    if pa.types.is_dictionary(t):
        return _json_text(col.dictionary_decode())
    if pa.types.is_null(t):
        return pa.nulls(len(col), pa.large_string()), False
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return _escape(col.cast(pa.large_string())), True
    if pa.types.is_boolean(t) or pa.types.is_integer(t) or pa.types.is_decimal(t):
        return col.cast(pa.large_string()), False
    if pa.types.is_floating(t):
        text = col.cast(pa.large_string())
        return pc.if_else(pc.is_finite(col), text, pa.scalar(None, pa.large_string())), False
    if pa.types.is_date(t) or pa.types.is_time(t):
        return col.cast(pa.large_string()), True
    if pa.types.is_timestamp(t):
        text = pc.replace_substring(col.cast(pa.large_string()), " ", "T", max_replacements=1)
        if t.tz is not None:  # "+0100" -> "+01:00" (extended format, like the rest)
            text = pc.replace_substring_regex(text, r"([+-]\d\d)(\d\d)$", r"\1:\2")
        return text, True
    values = [json.dumps(v, ensure_ascii=False, default=_json_default) for v in col.to_pylist()]
    return pa.array(values, pa.large_string()), False


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Decimal | dt.timedelta):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def jsonl_chunks_per_row(batches: Iterable[pa.RecordBatch]) -> Iterator[bytes]:
    """Reference implementation (`json.dumps` per row): the baseline `jsonl_chunks` is tested
    and measured against."""
    for batch in batches:
        lines = (
            json.dumps(row, ensure_ascii=False, default=_json_default) for row in batch.to_pylist()
        )
        text = "".join(line + "\n" for line in lines)
        if text:
            yield text.encode("utf-8")
