"""Column expressions the vectorised scan shares: evidence text built like the reference's
f-strings, numbers written as the reference writes them, and hashed group keys."""

from __future__ import annotations

import polars as pl

__all__ = ["SEEDS", "fmt", "hashed", "tenths_text"]


def fmt(template: str, *args: pl.Expr) -> pl.Expr:
    """`pl.format` as a `concat_str` of the template's pieces and the values as text: the same
    string, but polars 2.1's `format` after a lazy filter sometimes panics (string views)."""
    pieces = template.split("{}")
    if len(pieces) != len(args) + 1:
        raise ValueError(f"{template!r} takes {len(pieces) - 1} values, not {len(args)}")
    parts: list[pl.Expr] = []
    for piece, arg in zip(pieces, [*args, None], strict=True):
        if piece:
            parts.append(pl.lit(piece))
        if arg is not None:
            parts.append(arg.cast(pl.String))
    return pl.concat_str(parts)


def tenths_text(x: pl.Expr) -> pl.Expr:
    """`rules.tenths_text` in columns: whole, or to one decimal (half up)."""
    tenths = (x * 10 + 0.5).floor().cast(pl.Int64)
    whole = (tenths // 10).cast(pl.String)
    return pl.when(tenths % 10 == 0).then(whole).otherwise(fmt("{}.{}", whole, tenths % 10))


#: The big aggregations group by two independent 64-bit hashes of their string keys, not by
#: the strings themselves: polars 2.1's streaming group-by keeps the decoded pages its string
#: keys and values point into alive, and hashes are cheaper keys (measured here on 100 M usage
#: rows, by account and feature: 24 s by the strings, 13 s by their hashes). The strings come
#: back by joining the small sides (the champions). Two 64-bit hashes merge two keys about
#: once in 10^25 at 10^7 keys. (The usage feed goes one step further: its hashes are joined
#: to numbered accounts and features and grouped by one integer, `early_warning.usage`.)
SEEDS = (0x5EED_0001, 0x5EED_0002)


def hashed(cols: list[str], prefix: str) -> list[pl.Expr]:
    key = pl.struct(cols) if len(cols) > 1 else pl.col(cols[0])
    return [key.hash(seed=seed).alias(f"{prefix}{i}") for i, seed in enumerate(SEEDS)]
