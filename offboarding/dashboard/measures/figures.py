"""Rounding, percentiles, shares and the met / missed judgement every measure shares, so all
figures on the page are rounded and judged the same way. Pure."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def rounded(x: Any, digits: int = 2) -> float | None:
    """A JSON-ready float, or None for a missing value (NaN never reaches the page)."""
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return None
    return round(float(x), digits)


def percentile(values: pd.Series, q: float) -> float | None:
    """The q-th percentile (linear interpolation) of the known values, None when there are none."""
    v = values.dropna().to_numpy(dtype=float)
    return None if v.size == 0 else rounded(np.percentile(v, q))


def share_of(part: int, whole: int) -> float | None:
    """part / whole to 4 places; None for an empty whole (no data is not 0 %)."""
    return None if whole == 0 else round(part / whole, 4)


def judged(value: float | None, ok: bool | None, why: str) -> dict[str, Any]:
    """The status shown beside a measure: met, missed, or no data when nothing was measured."""
    if value is None or ok is None:
        return {"status": "no data", "why": "nothing to measure yet"}
    return {"status": "met" if ok else "missed", "why": why}


def iso_or_none(x: Any) -> str | None:
    """A date or timestamp as ISO text; None for NaT / NaN / None."""
    if x is None or x is pd.NaT or (isinstance(x, float) and np.isnan(x)):
        return None
    if isinstance(x, pd.Timestamp):
        return None if pd.isna(x) else x.isoformat()
    return x.isoformat() if hasattr(x, "isoformat") else str(x)


def latest_per(df: pd.DataFrame, key: str, by: str) -> pd.DataFrame:
    """The last row per key by `by` (ties broken by input order)."""
    if df.empty:
        return df
    return df.sort_values(by, kind="stable").drop_duplicates(key, keep="last")
