"""Signal files read whole: CSV or Parquet, from local disk or s3:// (I/O).

The file is checked as one frame (`winback.signals.frame`) before anything is stored, so a
file with a bad row is rejected whole and the same file twice gives the same ids.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl
from botocore.exceptions import ClientError

from offboarding.adapters.s3.client import s3_client
from offboarding.winback.signals.frame import normalise_frame
from offboarding.winback.signals.model import SignalFileError

__all__ = ["local_copy", "read_signal_file"]


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
