"""Turn a stream of Arrow record batches into a stream of CSV or JSON Lines bytes.

Each batch becomes one or a few chunks and is then dropped, so memory follows the batch size,
not the table size; the chunks feed `ObjectStore.stream_upload` directly.

JSON Lines is built with vectorised Arrow string kernels (per column: cast/escape to a JSON
literal, then one element-wise join per row). Measured on 1 M usage rows (2 cores): ~4x faster
than `json.dumps` per row; see the module's report for the numbers. Types with no cheap
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
]

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
JSONL_CONTENT_TYPE = "application/x-ndjson; charset=utf-8"

_JSONL_SLICE_ROWS = 65_536  # bounds the temporary string arrays built per slice


class RowCounter:
    """Counts rows while batches stream through; call it for the count once consumed.

    `counted = RowCounter(batches)` then `stream_upload(key, csv_chunks(counted), ..., rows=counted)`.
    """

    def __init__(self, batches: Iterable[pa.RecordBatch]) -> None:
        self._batches = batches
        self.rows = 0

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        for batch in self._batches:
            self.rows += batch.num_rows
            yield batch

    def __call__(self) -> int:
        return self.rows


def csv_chunks(
    batches: Iterable[pa.RecordBatch], schema: pa.Schema | None = None
) -> Iterator[bytes]:
    """UTF-8 CSV: header once, then rows; RFC 4180 quoting (strings always quoted, `"` doubled,
    commas and newlines kept inside quotes), nulls as empty fields, "\\n" line ends.

    With no batches and no `schema` nothing is produced; with a schema, just the header.
    """
    it = iter(batches)
    first = next(it, None)
    if first is None and schema is None:
        return
    sink = io.BytesIO()
    with pacsv.CSVWriter(sink, schema if schema is not None else first.schema) as writer:
        for batch in itertools.chain([first] if first is not None else [], it):
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
        if batch.num_rows == 0:
            continue
        keys = [json.dumps(name, ensure_ascii=False) for name in batch.schema.names]
        literals = [
            ("{" if i == 0 else ",") + key + ":" for i, key in enumerate(keys)
        ] or ["{"]
        for start in range(0, batch.num_rows, _JSONL_SLICE_ROWS):
            part = batch.slice(start, _JSONL_SLICE_ROWS)
            args: list[Any] = []
            for literal, column in zip(literals, part.columns, strict=False):
                args += [pa.scalar(literal, pa.large_string()), _json_values(column)]
            if not args:  # no columns: "{}" per row
                args = [pa.array(["{"] * part.num_rows, pa.large_string())]
            args += [pa.scalar("}\n", pa.large_string()), pa.scalar("", pa.large_string())]
            yield _string_bytes(pc.binary_join_element_wise(*args))


def _string_bytes(arr: pa.Array) -> bytes:
    """The concatenated values of a null-free string array, straight from its data buffer."""
    _, offsets, data = arr.buffers()
    bounds = memoryview(offsets).cast("q")  # large_string: int64 offsets
    return data[bounds[arr.offset] : bounds[arr.offset + len(arr)]].to_pybytes()


_CONTROL = {chr(c): f"\\u{c:04x}" for c in range(32)} | {
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}


def _json_string(arr: pa.Array) -> pa.Array:
    """JSON-quote a string array: escape backslash, quote and control characters."""
    arr = pc.replace_substring(arr, "\\", "\\\\")
    arr = pc.replace_substring(arr, '"', '\\"')
    if pc.any(pc.match_substring_regex(arr, "[\\x00-\\x1f]")).as_py():
        for char, escape in _CONTROL.items():
            if pc.any(pc.match_substring(arr, char)).as_py():
                arr = pc.replace_substring(arr, char, escape)
    return _quote(arr)


def _quote(arr: pa.Array) -> pa.Array:
    q = pa.scalar('"', pa.large_string())
    return pc.binary_join_element_wise(q, arr, q, pa.scalar("", pa.large_string()))


def _json_values(col: pa.Array) -> pa.Array:
    """One JSON literal per value as a null-free large_string array."""
    t = col.type
    if pa.types.is_dictionary(t):
        return _json_values(col.dictionary_decode())
    if pa.types.is_null(t):
        out = pa.nulls(len(col), pa.large_string())
    elif pa.types.is_string(t) or pa.types.is_large_string(t):
        out = _json_string(col.cast(pa.large_string()))
    elif pa.types.is_boolean(t) or pa.types.is_integer(t) or pa.types.is_decimal(t):
        out = col.cast(pa.large_string())
    elif pa.types.is_floating(t):
        text = col.cast(pa.large_string())
        out = pc.if_else(pc.is_finite(col), text, pa.scalar(None, pa.large_string()))
    elif pa.types.is_date(t) or pa.types.is_time(t):
        out = _quote(col.cast(pa.large_string()))
    elif pa.types.is_timestamp(t):
        text = pc.replace_substring(col.cast(pa.large_string()), " ", "T", max_replacements=1)
        if t.tz is not None:  # "+0100" -> "+01:00" (extended format, like the rest)
            text = pc.replace_substring_regex(text, r"([+-]\d\d)(\d\d)$", r"\1:\2")
        out = _quote(text)
    else:
        out = pa.array(
            [json.dumps(v, ensure_ascii=False, default=_json_default) for v in col.to_pylist()],
            pa.large_string(),
        )
    return out.fill_null("null")


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
