"""Nightly win-back selection over 1 M churned accounts and 10 M signals, end to end from the
Parquet files to the selected outreach set: the production engine (polars) against the same
selection as one DuckDB SQL query (the anchor), and a vectorised pandas version for reference.

    .venv/bin/pip install -c constraints.txt -e .      # DuckDB is a runtime dependency
    .venv/bin/python benchmarks/winback_bench.py                # 1 M / 10 M, 5 runs each
    .venv/bin/python benchmarks/winback_bench.py --accounts 100000 --signals 1000000

Each engine runs in its own fresh process, so its peak RSS is its own (interpreter and
imports included). Every engine must select exactly the same (account, signal) pairs, or the
benchmark fails. Results are printed as a Markdown table with the machine they ran on.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from offboarding.policy import Policy  # noqa: E402

TARGET_RATIO = 1.5
TARGET_RSS_MIB = 2048
SQL = Path(__file__).with_name("winback_duckdb.sql")


# ------------------------------------------------------------------------------ engines


def run_polars(data: Path, night: date, policy: Policy) -> list[tuple[str, str]]:
    import polars as pl

    from offboarding.winback.selection import select_outreach

    selected = select_outreach(
        pl.scan_parquet(data / "candidates.parquet"),
        pl.scan_parquet(data / "signals.parquet"),
        night,
        policy,
    )
    return list(zip(selected["account_id"].to_list(), selected["signal_id"].to_list(), strict=True))


def duckdb_sql(data: Path, night: date, policy: Policy) -> str:
    wp = policy.winback

    def midnight(d: date) -> str:
        return datetime(d.year, d.month, d.day, tzinfo=UTC).isoformat()

    return SQL.read_text(encoding="utf-8").format(
        candidates=data / "candidates.parquet",
        signals=data / "signals.parquet",
        night=night.isoformat(),
        since=midnight(night - timedelta(days=wp.signal_max_age_days - 1)),
        until=midnight(night + timedelta(days=1)),
        strengths=", ".join(f"('{k}', {v})" for k, v in wp.strengths.items()),
        structural=", ".join(f"'{r}'" for r in wp.structural_reasons),
        gap=wp.contact_gap_months,
        low=wp.reminder_months[0],
        high=wp.reminder_months[1],
        strong=wp.strong_signal,
        cap=wp.max_per_owner_per_night,
    )


_DUCK = {}


def run_duckdb(data: Path, night: date, policy: Policy) -> list[tuple[str, str]]:
    import duckdb

    if "con" not in _DUCK:
        _DUCK["con"] = duckdb.connect()
        _DUCK["con"].execute("SET TimeZone = 'UTC'")
    table = _DUCK["con"].sql(duckdb_sql(data, night, policy)).to_arrow_table()
    return list(zip(table["account_id"].to_pylist(), table["signal_id"].to_pylist(), strict=True))


def run_pandas(data: Path, night: date, policy: Policy) -> list[tuple[str, str]]:
    """The same rules in vectorised pandas: filter first, then join, sort, drop duplicates."""
    import pandas as pd

    wp = policy.winback
    ts_night = pd.Timestamp(night)
    since = pd.Timestamp(night - timedelta(days=wp.signal_max_age_days - 1), tz="UTC")
    until = pd.Timestamp(night + timedelta(days=1), tz="UTC")
    c = pd.read_parquet(data / "candidates.parquet")
    churned = pd.to_datetime(c["churned_on"])
    last = pd.to_datetime(c["last_outreach_on"])
    structural = c["reason"].isin(wp.structural_reasons)
    keep = (
        ~c["won_back"].fillna(False)
        & ~c["clean_break"].fillna(False)
        & ~c["opted_out"].fillna(False)
        & (c["candidate"].fillna(False) | structural)
        & (last.isna() | (last + pd.DateOffset(months=wp.contact_gap_months) <= ts_night))
    )
    low, high = wp.reminder_months
    in_window = (churned + pd.DateOffset(months=low) <= ts_night) & (
        churned + pd.DateOffset(months=high) >= ts_night
    )
    a = c[keep].assign(
        churn_ts=churned[keep].dt.tz_localize("UTC"),
        champion_only=(structural | ~c["candidate"].fillna(False))[keep],
        needs_strong=(last.isna() & ~in_window)[keep],
    )
    s = pd.read_parquet(
        data / "signals.parquet",
        columns=["signal_id", "type", "account_id", "domain", "competitor", "codes", "observed_at"],
        filters=[("observed_at", ">=", since), ("observed_at", "<", until)],
    )
    s = s[s["type"].isin(list(wp.strengths))]
    s = s.assign(strength=s["type"].map(wp.strengths))
    sig = ["signal_id", "type", "observed_at", "strength"]
    key = ["account_id", "churn_ts", "champion_only", "needs_strong"]
    feature = s["type"] == "feature_shipped"
    has_acc, has_dom = s["account_id"].notna(), s["domain"].notna()
    parts = [
        s[has_acc & ~feature][[*sig, "account_id"]].merge(a[key], on="account_id"),
        s[~has_acc & has_dom & ~feature][[*sig, "domain"]]
        .merge(a[a["domain"].notna()][[*key, "domain"]], on="domain")
        .drop(columns="domain"),
        s[~has_acc & ~has_dom & s["type"].str.startswith("competitor_") & s["competitor"].notna()][
            [*sig, "competitor"]
        ]
        .merge(a[a["competitor"].notna()][[*key, "competitor"]], on="competitor")
        .drop(columns="competitor"),
    ]
    named = pd.concat(
        [
            s[feature & has_acc][[*sig, "codes", "account_id"]].merge(
                a[[*key, "product_gap", "reason"]], on="account_id"
            ),
            s[feature & ~has_acc & has_dom][[*sig, "codes", "domain"]].merge(
                a[a["domain"].notna()][[*key, "product_gap", "reason", "domain"]], on="domain"
            ),
        ]
    )
    if len(named):
        hit = [
            (g in codes) or (r in codes)
            for codes, g, r in zip(
                named["codes"], named["product_gap"], named["reason"], strict=True
            )
        ]
        parts.append(named[hit][sig + key])
    releases = (
        s[feature & ~has_acc & ~has_dom][[*sig, "codes"]]
        .explode("codes")
        .rename(columns={"codes": "code"})
        .drop_duplicates(["signal_id", "code"])
    )
    parts.append(
        releases.merge(
            a[a["product_gap"].notna()][[*key, "product_gap"]],
            left_on="code",
            right_on="product_gap",
        )
    )
    parts.append(releases.merge(a[[*key, "reason"]], left_on="code", right_on="reason"))
    pairs = pd.concat([p[sig + key] for p in parts], ignore_index=True)
    pairs = pairs[
        (pairs["observed_at"] >= pairs["churn_ts"])
        & (~pairs["champion_only"] | (pairs["type"] == "champion_moved"))
        & (~pairs["needs_strong"] | (pairs["strength"] >= wp.strong_signal))
    ]
    best = pairs.sort_values(
        ["strength", "observed_at", "signal_id"], ascending=[False, False, True]
    ).drop_duplicates("account_id")
    best = best.merge(a[["account_id", "owner"]], on="account_id").sort_values(
        ["strength", "observed_at", "account_id"], ascending=[False, False, True]
    )
    best = best[best.groupby("owner").cumcount() < wp.max_per_owner_per_night]
    return list(zip(best["account_id"], best["signal_id"], strict=True))


ENGINES = {"polars": run_polars, "duckdb": run_duckdb, "pandas": run_pandas}


# ------------------------------------------------------------------------------ harness


def peak_rss_mib() -> float:
    """This process's own peak RSS. VmHWM belongs to the address space exec created;
    getrusage's ru_maxrss would also count the parent's pages at fork time."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(engine: str, data: Path, night: date, repeat: int) -> None:
    """One engine in this fresh process: time each run, then report peak RSS and a digest."""
    policy = Policy()
    fn = ENGINES[engine]
    times, pairs = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        pairs = fn(data, night, policy)
        times.append(time.perf_counter() - t0)
    digest = hashlib.sha256(json.dumps(sorted(pairs)).encode()).hexdigest()[:16]
    print(
        json.dumps(
            {
                "engine": engine,
                "times": times,
                "rows": len(pairs),
                "digest": digest,
                "peak_rss_mib": peak_rss_mib(),
            }
        )
    )


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, Python {platform.python_version()}"


def versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for name in ("polars", "duckdb", "pandas", "pyarrow"):
        try:
            out.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            out.append(f"{name} (not installed)")
    return ", ".join(out)


def ensure_data(data: Path, accounts: int, signals: int, night: date) -> dict:
    meta_file = data / "sample.json"
    if meta_file.exists():
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        if (meta["accounts"], meta["signals"], meta["night"]) == (
            accounts,
            signals,
            night.isoformat(),
        ):
            return meta | {"generated_s": None}
    from offboarding.winback.sample.population import generate
    from offboarding.winback.sample.writing import write_sample

    t0 = time.perf_counter()
    meta = write_sample(generate(accounts, signals, night), data)
    return meta | {"generated_s": time.perf_counter() - t0}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--accounts", type=int, default=1_000_000)
    ap.add_argument("--signals", type=int, default=10_000_000)
    ap.add_argument("--night", default="2026-06-15")
    ap.add_argument("--data", type=Path, default=None, help="default: .state/winback-bench-A-S")
    ap.add_argument("--repeat", type=int, default=3, help="runs per process (first: cold)")
    ap.add_argument("--rounds", type=int, default=3, help="fresh processes per engine")
    ap.add_argument("--engines", default="polars,duckdb,pandas")
    ap.add_argument("--child", choices=sorted(ENGINES), help=argparse.SUPPRESS)
    args = ap.parse_args()
    night = date.fromisoformat(args.night)
    data = args.data or ROOT / ".state" / f"winback-bench-{args.accounts}-{args.signals}"
    if args.child:
        child(args.child, data, night, args.repeat)
        return 0

    meta = ensure_data(data, args.accounts, args.signals, night)
    sizes = ", ".join(f"{k} {v / 2**20:.0f} MiB" for k, v in meta["files"].items())
    print(f"data: {data} ({sizes})", flush=True)
    if meta["generated_s"] is not None:
        print(f"generated in {meta['generated_s']:.1f} s", flush=True)
    engines = args.engines.split(",")
    runs: dict[str, list[dict]] = {e: [] for e in engines}
    # Rounds in rotating order, each engine in a fresh process, so a shared machine's load
    # drifts over all engines alike instead of favouring whichever ran in a quiet minute.
    for round_no in range(args.rounds):
        order = engines[round_no % len(engines) :] + engines[: round_no % len(engines)]
        for engine in order:
            proc = subprocess.run(
                [sys.executable, __file__, "--child", engine, "--data", str(data),
                 "--night", args.night, "--repeat", str(args.repeat)],
                capture_output=True, text=True, cwd=ROOT,
            )  # fmt: skip
            if proc.returncode != 0:
                print(f"{engine}: failed\n{proc.stderr[-2000:]}", file=sys.stderr)
                return 1
            runs[engine].append(json.loads(proc.stdout.strip().splitlines()[-1]))
            print(f"round {round_no + 1} {engine}: {runs[engine][-1]}", flush=True)

    digests = {r["digest"] for rs in runs.values() for r in rs}
    if len(digests) != 1:
        print("engines disagree on the selection: " + str(runs), file=sys.stderr)
        return 1

    def summary(rs: list[dict]) -> dict:
        first = [r["times"][0] for r in rs]
        warm = [t for r in rs for t in r["times"][1:]] or first
        return {
            "first": statistics.median(first),
            "median": statistics.median(warm),
            "best": min(warm),
            "rss": max(r["peak_rss_mib"] for r in rs),
            "n": len(warm),
        }

    stats = {e: summary(rs) for e, rs in runs.items()}
    anchor = stats.get("duckdb")
    rows = next(iter(runs.values()))[0]["rows"]
    print(f"\n{args.accounts:,} churned accounts × {args.signals:,} signals, night {night}; "
          f"{rows:,} outreach selected (the same set from every engine)")  # fmt: skip
    print(f"machine: {machine()}; {versions()}; load average at the end "
          f"{os.getloadavg()[0]:.1f}\n")  # fmt: skip
    print(
        "| engine | first run (s) | median warm run (s) | best (s) | median ÷ DuckDB | "
        "best ÷ DuckDB | peak RSS (MiB) |"
    )
    print("|---|---|---|---|---|---|---|")
    ok = True
    for engine, st in stats.items():
        med = f"{st['median'] / anchor['median']:.2f}×" if anchor else ""
        best = f"{st['best'] / anchor['best']:.2f}×" if anchor else ""
        print(
            f"| {engine} | {st['first']:.2f} | {st['median']:.2f} | {st['best']:.2f} | {med} | "
            f"{best} | {st['rss']:.0f} |"
        )
        if engine == "polars":
            ratio = st["median"] / anchor["median"] if anchor else 0
            ok = st["rss"] < TARGET_RSS_MIB and ratio <= TARGET_RATIO
    print(f"({next(iter(stats.values()))['n']} warm runs per engine over {args.rounds} rounds)")
    print(f"\ntargets (polars, production): ≤ {TARGET_RATIO}× DuckDB, peak RSS < "
          f"{TARGET_RSS_MIB} MiB: {'met' if ok else 'NOT met'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
