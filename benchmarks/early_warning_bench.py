"""The daily early-warning scan over 1 M accounts and 100 M usage rows (plus their logins,
tickets, health scores, renewals and champions), end to end from the Parquet files to the
ranked at-risk findings: the production scan (the usage feed aggregated by DuckDB, every rule
in polars) against the same scan as one DuckDB SQL query over the same files (the anchor),
in the same run; `--engines production,polars,duckdb` adds the all-polars scan (what CSV,
SQL and s3:// feeds take).

    .venv/bin/python benchmarks/early_warning_bench.py                    # 1 M / 100 M
    .venv/bin/python benchmarks/early_warning_bench.py --accounts 100000 --rows 10000000

Each engine runs in its own fresh process, so its peak RSS is its own (interpreter and
imports included). Both must return exactly the same findings — account, cause, evidence
text, impact, urgency and priority, in the same order — or the benchmark fails. Results are
printed as a Markdown table with the machine they ran on.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from offboarding.policy import LEVELS, Policy  # noqa: E402

TARGET_RATIO = 1.2
TARGET_RSS_MIB = 4096
SQL = Path(__file__).with_name("early_warning_duckdb.sql")
TABLES = ("usage_events", "logins", "tickets", "health_scores", "renewals", "champions")
COLUMNS = ["account_id", "cause", "evidence", "impact", "urgency", "level", "base", "points"]


# ------------------------------------------------------------------------------ engines


def _frames(data: Path, day: date, policy: Policy) -> dict:
    """The product tables as the flow's scan reads them (the same `conform` of each table and
    the same window filter as `signals.files.product_frames`), and the population."""
    import polars as pl

    from offboarding.early_warning.rules import read_window
    from offboarding.early_warning.signals.model import conform

    since = read_window(day, policy)
    frames = {t: conform(t, pl.scan_parquet(data / f"{t}.parquet")) for t in TABLES}
    for t in ("usage_events", "logins"):
        frames[t] = frames[t].filter(pl.col("ts") >= since)
    return frames | {"accounts": conform("accounts", pl.scan_parquet(data / "accounts.parquet"))}


def run_production(data: Path, day: date, policy: Policy) -> list[tuple]:
    """What the flow's scan task runs, from the files instead of the catalogue: the usage feed
    aggregated by DuckDB (`signals.usage_duckdb`), every rule in polars."""
    from offboarding.early_warning import queue
    from offboarding.early_warning.selection import ScanFrames
    from offboarding.early_warning.signals.usage_duckdb import aggregate_usage

    frames = _frames(data, day, policy)
    accounts = frames.pop("accounts").collect()
    per_feature = aggregate_usage(str(data / "usage_events.parquet"), {}, accounts, day, policy)
    scan = ScanFrames(accounts=accounts.lazy(), usage_per_feature=per_feature, **frames)
    ranked, _ = queue.scan(scan, day, policy)
    return [tuple(r) for r in ranked.select(COLUMNS).iter_rows()]


def run_polars(data: Path, day: date, policy: Policy) -> list[tuple]:
    """The same scan with the usage feed aggregated in polars too (`usage.usage_per_feature`,
    what CSV, SQL and s3:// feeds take): the one-engine figure, kept for comparison."""
    from offboarding.early_warning import queue
    from offboarding.early_warning.selection import ScanFrames

    ranked, _ = queue.scan(ScanFrames(**_frames(data, day, policy)), day, policy)
    return [tuple(r) for r in ranked.select(COLUMNS).iter_rows()]


def _tenths(x: str) -> str:
    t = f"CAST(floor(({x}) * 10 + 0.5) AS BIGINT)"
    return (f"CASE WHEN {t} % 10 = 0 THEN CAST({t} // 10 AS VARCHAR) "
            f"ELSE CAST({t} // 10 AS VARCHAR) || '.' || CAST({t} % 10 AS VARCHAR) END")  # fmt: skip


def _level_name(x: str) -> str:
    return (
        "CASE " + x + "".join(f" WHEN {i + 1} THEN '{lv}'" for i, lv in enumerate(LEVELS)) + " END"
    )


def _weight(col: str) -> str:
    return (
        "CASE "
        + col
        + "".join(f" WHEN '{lv}' THEN {i + 1}" for i, lv in enumerate(LEVELS))
        + " END"
    )


def duckdb_sql(data: Path, day: date, policy: Policy) -> str:
    from offboarding.early_warning.rules import WEEK_US, read_window, scan_end

    ew, pp = policy.early_warning, policy.early_warning.priority
    end = scan_end(day)
    weeks = ew.baseline_weeks
    abandon_us = ew.abandon_days * 86_400_000_000
    c = ew.causes

    def ts(t: datetime) -> str:
        return t.isoformat()

    return SQL.read_text(encoding="utf-8").format(
        **{t.split("_")[0] if t != "health_scores" else "health": data / f"{t}.parquet"
           for t in TABLES},
        accounts=data / "accounts.parquet", end=ts(end), day=day.isoformat(),
        usage_since=ts(read_window(day, policy)),
        login_since=ts(end - timedelta(days=ew.history_days)),
        ticket_since=ts(end - timedelta(days=ew.ticket_days)),
        then_before=(day - timedelta(days=ew.health_lookback_days - 1)).isoformat(),
        week_counts=", ".join(f"count(*) FILTER (WHERE age > {k * WEEK_US} AND age <= "
                              f"{(k + 1) * WEEK_US}) AS w{k}" for k in range(weeks + 1)),
        week_sums=", ".join(f"sum(w{k}) AS w{k}" for k in range(weeks + 1)),
        baseline=", ".join(f"sum(w{k})" for k in range(1, weeks + 1)),
        med_text=_tenths("med"), avg_text=_tenths("avg"), weeks=weeks,
        abandon_us=abandon_us, abandon_end_us=abandon_us + weeks * WEEK_US,
        min_baseline=repr(float(ew.usage_min_baseline)), keep=repr(1 - ew.usage_drop_ratio),
        burst_since=ts(end - timedelta(hours=ew.failed_login_hours)),
        burst_hours=ew.failed_login_hours,
        burst=ew.failed_login_burst, history_days=ew.history_days,
        champion_days=ew.champion_inactive_days, tickets_per_feature=ew.tickets_per_feature,
        ticket_days=ew.ticket_days, sev_name=_level_name("sev"),
        max_sev_name=_level_name("max(sev)"),
        red=ew.health_red_below, yellow=ew.health_yellow_below,
        abandon_days=ew.abandon_days, abandon_min=repr(float(ew.abandon_min_weekly)),
        drop_impact=c["usage_drop"].impact, drop_urgency=c["usage_drop"].urgency,
        login_impact=c["failed_login_burst"].impact, login_urgency=c["failed_login_burst"].urgency,
        champion_impact=c["champion_inactive"].impact,
        champion_urgency=c["champion_inactive"].urgency,
        ticket_urgency=c["ticket_cluster"].urgency,
        health_impact=c["health_decline"].impact, health_urgency=c["health_decline"].urgency,
        abandon_impact=c["feature_abandoned"].impact,
        abandon_urgency=c["feature_abandoned"].urgency,
        exec_roles=", ".join(f"'{r.lower()}'" for r in ew.executive_roles),
        weight_impact=_weight("f.impact"), weight_urgency=_weight("f.urgency"),
        high_arr=repr(float(pp.high_arr)), mid_arr=repr(float(pp.mid_arr)),
        renewal_soon=pp.renewal_soon_days, renewal_near=pp.renewal_near_days,
        high_at=pp.high_at, medium_at=pp.medium_at, raise_at=pp.raise_at,
    )  # fmt: skip


def run_duckdb(data: Path, day: date, policy: Policy) -> list[tuple]:
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return [tuple(r) for r in con.sql(duckdb_sql(data, day, policy)).fetchall()]


ENGINES = {"production": run_production, "polars": run_polars, "duckdb": run_duckdb}


# ------------------------------------------------------------------------------ harness


def peak_rss_mib() -> float:
    """This process's own peak RSS (VmHWM of the address space exec created)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def child(engine: str, data: Path, day: date, repeat: int) -> None:
    """One engine in this fresh process: its modules imported first (a flow run's process has
    them loaded before its scan starts), then each run timed."""
    if engine != "duckdb":
        import offboarding.early_warning.queue  # noqa: F401
    if engine != "polars":
        import duckdb  # noqa: F401
    policy = Policy()
    times, rows = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        rows = ENGINES[engine](data, day, policy)
        times.append(time.perf_counter() - t0)
    text = json.dumps([[str(x) for x in r] for r in rows], ensure_ascii=False)
    causes: dict[str, int] = {}
    for r in rows:
        causes[r[1]] = causes.get(r[1], 0) + 1
    print(json.dumps({"engine": engine, "times": times, "rows": len(rows), "causes": causes,
                      "digest": hashlib.sha256(text.encode()).hexdigest()[:16],
                      "peak_rss_mib": peak_rss_mib()}))  # fmt: skip


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
    for name in ("polars", "duckdb", "pyarrow", "numpy"):
        try:
            out.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            out.append(f"{name} (not installed)")
    return ", ".join(out)


def ensure_data(data: Path, accounts: int, rows: int, day: date) -> dict:
    meta_file = data / "product.json"
    if meta_file.exists():
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        if (meta["accounts"], meta["day"], meta.get("requested_rows")) == (
            accounts, day.isoformat(), rows,
        ):  # fmt: skip
            return meta | {"generated_s": None}
    from offboarding.early_warning.sample.population import plan
    from offboarding.early_warning.sample.writing import write_product_data

    t0 = time.perf_counter()
    ids = [f"A{i:07d}" for i in range(accounts)]
    pop = plan(ids, day, rows, seed=14, quiet=False, plants={}, plant_share=0.01, history=42)
    meta = write_product_data(data, pop, with_accounts=True)
    meta["requested_rows"] = rows
    meta_file.write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return meta | {"generated_s": time.perf_counter() - t0}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--accounts", type=int, default=1_000_000)
    ap.add_argument("--rows", type=int, default=100_000_000, help="usage events in total")
    ap.add_argument("--day", default="2026-06-15")
    ap.add_argument("--data", type=Path, default=None, help="default: .state/ew-bench-A-R")
    ap.add_argument("--repeat", type=int, default=2, help="runs per process (first: cold)")
    ap.add_argument("--rounds", type=int, default=3, help="fresh processes per engine")
    ap.add_argument("--engines", default="production,duckdb", help="also: polars")
    ap.add_argument("--child", choices=sorted(ENGINES), help=argparse.SUPPRESS)
    args = ap.parse_args()
    day = date.fromisoformat(args.day)
    data = args.data or ROOT / ".state" / f"ew-bench-{args.accounts}-{args.rows}"
    if args.child:
        child(args.child, data, day, args.repeat)
        return 0

    meta = ensure_data(data, args.accounts, args.rows, day)
    sizes = ", ".join(f"{k} {v['bytes'] / 2**20:.0f} MiB" for k, v in meta["files"].items())
    print(f"data: {data} ({meta['usage_rows']:,} usage rows; {sizes})", flush=True)
    if meta["generated_s"] is not None:
        print(f"generated in {meta['generated_s']:.1f} s", flush=True)
    engines = args.engines.split(",")
    runs: dict[str, list[dict]] = {e: [] for e in engines}
    for round_no in range(args.rounds):  # rotating order: a shared machine's load falls alike
        order = engines[round_no % len(engines) :] + engines[: round_no % len(engines)]
        for engine in order:
            proc = subprocess.run(
                [sys.executable, __file__, "--child", engine, "--data", str(data),
                 "--day", args.day, "--repeat", str(args.repeat)],
                capture_output=True, text=True, cwd=ROOT,
            )  # fmt: skip
            if proc.returncode != 0:
                print(f"{engine}: failed\n{proc.stderr[-3000:]}", file=sys.stderr)
                return 1
            runs[engine].append(json.loads(proc.stdout.strip().splitlines()[-1]))
            r = runs[engine][-1]
            print(f"round {round_no + 1} {engine}: {[round(t, 2) for t in r['times']]} s, "
                  f"{r['rows']} findings, {r['peak_rss_mib']:.0f} MiB", flush=True)  # fmt: skip

    digests = {r["digest"] for rs in runs.values() for r in rs}
    if len(digests) != 1:
        print("engines disagree on the findings: " + str(runs), file=sys.stderr)
        return 1

    def summary(rs: list[dict]) -> dict:
        first = [r["times"][0] for r in rs]
        warm = [t for r in rs for t in r["times"][1:]] or first
        rss = max(r["peak_rss_mib"] for r in rs)
        return {"first": statistics.median(first), "median": statistics.median(warm),
                "best": min(warm), "rss": rss, "n": len(warm)}  # fmt: skip

    stats = {e: summary(rs) for e, rs in runs.items()}
    anchor = stats.get("duckdb")
    first = next(iter(runs.values()))[0]
    print(f"\n{args.accounts:,} accounts × {meta['usage_rows']:,} usage rows, day {day}; "
          f"{first['rows']:,} findings, the same from both engines: {first['causes']}")  # fmt: skip
    print(f"machine: {machine()}; {versions()}; load average at the end "
          f"{os.getloadavg()[0]:.1f}\n")  # fmt: skip
    print("| engine | first run (s) | median warm run (s) | best (s) | median ÷ DuckDB | "
          "best ÷ DuckDB | peak RSS (MiB) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    ok = True
    for engine, st in stats.items():
        med = f"{st['median'] / anchor['median']:.2f}×" if anchor else ""
        best = f"{st['best'] / anchor['best']:.2f}×" if anchor else ""
        print(f"| {engine} | {st['first']:.2f} | {st['median']:.2f} | {st['best']:.2f} | {med} | "
              f"{best} | {st['rss']:.0f} |")  # fmt: skip
        if engine == "production":
            ratio = st["median"] / anchor["median"] if anchor else 0
            ok = st["rss"] < TARGET_RSS_MIB and ratio <= TARGET_RATIO
    print(f"({next(iter(stats.values()))['n']} warm runs per engine over {args.rounds} rounds)")
    print(f"\ntargets (production): ≤ {TARGET_RATIO}× DuckDB end to end, peak RSS < "
          f"{TARGET_RSS_MIB} MiB: {'met' if ok else 'NOT met'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
