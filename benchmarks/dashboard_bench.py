"""How long the §13 measures take at scale: 100 k cases and 1 M messages by default.

    .venv/bin/python benchmarks/dashboard_bench.py                 # compute + SQLite store
    .venv/bin/python benchmarks/dashboard_bench.py --no-store      # compute only
    .venv/bin/python benchmarks/dashboard_bench.py --cases 10000 --messages 100000

Synthetic data (fixed seed) shaped like the store: statuses, reasons, save attempts, exports,
exit feedback, steps and messages per case. Three timings, each the median of `--repeat`
runs: the measures from in-memory tables (`compute_dashboard`), the page (`render_page`),
and, unless --no-store, loading the tables from a SQLite file (`load_dashboard_data`, the
path the CLI and the flow take). Prints the machine and a markdown row for
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from offboarding.dashboard.measures import (  # noqa: E402
    REQUIRED_MESSAGES,
    REQUIRED_STEPS,
    DashboardData,
    compute_dashboard,
)
from offboarding.dashboard.page import render_page  # noqa: E402

AS_OF = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
REASONS = np.array(
    "outcome expectation experience cost business_closure acquisition bankruptcy downsizing "
    "policy_change competitor product_gap misunderstanding other".split()
)
GAPS = np.array([f"feature {i}" for i in range(40)])
SIGNS = np.array(["", "", "", "champion stopped logging in", "usage fell", "tickets spiked"])
STATUSES = np.array(
    [
        "closed",
        "purged",
        "saved",
        "not_a_cancellation",
        "offboarding",
        "awaiting_verification",
        "awaiting_save_outcome",
        "awaiting_approval",
        "escalated",
        "received",
    ]
)
STATUS_P = [0.45, 0.25, 0.07, 0.05, 0.10, 0.02, 0.02, 0.02, 0.01, 0.01]
KINDS = np.array(
    [
        "acknowledgement",
        "save_invitation",
        "offboarding_plan",
        "export_ready",
        "knowledge_transfer_offer",
        "access_change_notice",
        "exit_survey_invitation",
        "closure_confirmation",
        "executive_note",
        "internal_churn_notification",
    ]
)


def _ts(base: pd.Timestamp, hours: np.ndarray) -> pd.Series:
    return pd.Series(base + pd.to_timedelta(hours, unit="h"))


def take(series: pd.Series, idx: np.ndarray) -> pd.Series:
    """Rows of a (tz-aware) series by position, keeping its dtype."""
    return series.iloc[idx].reset_index(drop=True)


def synthetic(n_cases: int, n_messages: int, seed: int = 6) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    now = pd.Timestamp(AS_OF)
    start = now - pd.Timedelta(days=3 * 365)
    ids = np.char.add("C-", np.char.zfill(np.arange(n_cases).astype(str), 8))
    n_accounts = max(1, int(n_cases * 0.8))
    account = np.char.add("A-", rng.integers(0, n_accounts, n_cases).astype(str))
    status = rng.choice(STATUSES, n_cases, p=STATUS_P)
    requested = _ts(start, rng.uniform(0, 3 * 365 * 24, n_cases))
    churned = np.isin(status, ["closed", "purged"])
    finished = churned | np.isin(status, ["saved", "not_a_cancellation"])
    ack_h = rng.exponential(6, n_cases)
    acked = rng.random(n_cases) < 0.97
    done_h = np.where(churned, rng.uniform(5 * 24, 25 * 24, n_cases), rng.uniform(1, 72, n_cases))
    completed = (requested + pd.to_timedelta(done_h, unit="h")).where(finished)
    open_ = ~finished
    # open cases were requested recently
    requested = requested.where(~open_, now - pd.to_timedelta(rng.uniform(1, 400, n_cases), "h"))
    completed = completed.where(completed <= now)
    reason = rng.choice(REASONS, n_cases)
    waiting = np.isin(status, ["awaiting_save_outcome", "awaiting_approval", "escalated"])
    cases = pd.DataFrame(
        {
            "case_id": ids,
            "account_id": account,
            "account_name": account,
            "segment": rng.choice(["enterprise", "mid-market", "smb"], n_cases, p=[0.1, 0.3, 0.6]),
            "arr": np.round(rng.lognormal(9.5, 1.2, n_cases), 2),
            "strategic": rng.random(n_cases) < 0.05,
            "status": status,
            "requested_at": requested,
            "acknowledged_at": (requested + pd.to_timedelta(ack_h, "h")).where(acked),
            "completed_at": completed,
            "closed_on": completed.dt.normalize().where(churned),
            "reason_category": np.where(status == "received", None, reason),
            "reason_detail": np.where(reason == "experience", "support unreachable", ""),
            "product_gap": np.where(reason == "product_gap", rng.choice(GAPS, n_cases), None),
            "preventable": rng.choice(np.array([True, False, None], dtype=object), n_cases),
            "missed_warning_signs": rng.choice(SIGNS, n_cases),
            "winback_candidate": churned & (rng.random(n_cases) < 0.4),
            "winback_remind_on": (completed + pd.DateOffset(months=6)).dt.normalize(),
            "waiting_for": np.where(waiting, "approval-manager", None),
            "decision_due": (requested + pd.Timedelta(days=2)).where(waiting),
        }
    )
    # messages: the per-case mail plus random traffic, n_messages in all
    m_case = rng.integers(0, n_cases, n_messages)
    sent = take(requested, m_case) + pd.to_timedelta(rng.uniform(0, 20 * 24, n_messages), "h")
    messages = pd.DataFrame(
        {
            "message_id": np.arange(1, n_messages + 1),
            "case_id": ids[m_case],
            "kind": rng.choice(KINDS, n_messages),
            "sent_at": sent,
        }
    )
    recent = messages["sent_at"] > now - pd.Timedelta(days=8)
    messages["subject"] = np.where(recent, "Your offboarding", None)
    messages["location"] = np.where(recent, "outbox/x.eml", None)
    # steps: what the record should hold, with 1 % missing (the audit finds them)
    parts = []
    for st, names in REQUIRED_STEPS.items():
        sel = ids[status == st]
        parts.append(pd.DataFrame({"case_id": np.repeat(sel, len(names)),
                                   "step": np.tile(names, len(sel))}))  # fmt: skip
    steps = pd.concat(parts, ignore_index=True)
    steps = steps[rng.random(len(steps)) > 0.01]
    # most required messages exist: they take the place of the first random ones
    req = pd.concat(
        [
            pd.DataFrame(
                {
                    "case_id": np.repeat(ids[status == st], len(names)),
                    "kind": np.tile(names, int((status == st).sum())),
                }
            )
            for st, names in REQUIRED_MESSAGES.items()
        ],
        ignore_index=True,
    )
    req = req[rng.random(len(req)) > 0.01].head(n_messages // 2)
    messages.loc[messages.index[: len(req)], ["case_id", "kind"]] = req.to_numpy()
    # save attempts for 30 % of the cases
    sa_case = rng.choice(n_cases, int(n_cases * 0.3), replace=False)
    save_attempts = pd.DataFrame(
        {
            "case_id": ids[sa_case],
            "number": 1,
            "outcome": rng.choice(
                ["saved", "not_saved", "declined_conversation"], len(sa_case), p=[0.25, 0.5, 0.25]
            ),
            "at": take(requested, sa_case) + pd.Timedelta(days=2),
        }
    )
    save_attempts["at"] = pd.to_datetime(save_attempts["at"], utc=True)
    # one export per churned case
    ch = np.flatnonzero(churned & completed.notna().to_numpy())
    ex_req = take(requested, ch) + pd.Timedelta(days=1)
    exports = pd.DataFrame(
        {
            "export_id": np.char.add(ids[ch], "-export"),
            "case_id": ids[ch],
            "requested_at": pd.to_datetime(ex_req, utc=True),
        }
    )
    exports["delivered_at"] = (
        exports["requested_at"] + pd.to_timedelta(rng.exponential(30, len(ch)), "h")
    ).where(rng.random(len(ch)) < 0.97)
    # exit feedback from 55 % of churned cases: most answer, some decline
    fb_case = rng.choice(ch, int(len(ch) * 0.55), replace=False)
    answered = rng.random(len(fb_case)) < 0.8
    feedback = pd.DataFrame(
        {
            "response_id": np.char.add("R-", ids[fb_case]),
            "case_id": ids[fb_case],
            "status": np.where(answered, "answered", "declined"),
            "responded_at": pd.to_datetime(take(completed, fb_case), utc=True)
            + pd.Timedelta(days=3),
            "satisfaction": np.where(answered, rng.integers(0, 11, len(fb_case)), np.nan),
            "recommend_score": np.where(answered, rng.integers(0, 11, len(fb_case)), np.nan),
            "main_reason": np.where(answered, "the price went up", ""),
            "could_do_better": np.where(answered, "listen to small teams sooner", ""),
            "recommend_why": "",
            "product_gap": None,
            "service_issue": None,
        }
    )
    strategic_ch = ch[cases["strategic"].to_numpy()[ch]]
    interviews = pd.DataFrame(
        {
            "case_id": ids[strategic_ch],
            "status": "held",
            "facilitator": "vp@example.com",
            "facilitator_neutral": True,
            "held_at": pd.to_datetime(take(completed, strategic_ch), utc=True),
            "notes": "moved for pricing and reporting",
        }
    )
    back = rng.choice(ch, int(len(ch) * 0.05), replace=False)
    returns = pd.DataFrame(
        {
            "account_id": account[back],
            "returned_on": pd.to_datetime(take(completed, back), utc=True)
            + pd.to_timedelta(rng.uniform(30, 1200, len(back)), "D"),
        }
    )
    signals = pd.DataFrame(
        {
            "account_id": account[ch[:1000]],
            "kind": "feature_shipped",
            "source_key": "PAT-BENCH",
            "observed_at": pd.Timestamp(AS_OF),
        }
    )
    return {
        "cases": cases,
        "save_attempts": save_attempts,
        "messages": messages,
        "exports": exports,
        "steps": steps,
        "feedback": feedback,
        "interviews": interviews,
        "returns": returns,
        "signals": signals,
    }


def timed(fn, repeat: int) -> tuple[float, Any]:  # noqa: ANN001
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def write_store(url: str, tables: dict[str, pd.DataFrame]) -> float:
    """The synthetic tables as rows of the real schema (setup, not measured as a measure)."""
    from sqlalchemy import insert

    from offboarding.storage.db import session_scope
    from offboarding.storage.models import (
        AccountRow,
        CaseRow,
        ExportRow,
        MessageRow,
        SaveAttemptRow,
        StepRow,
    )
    from offboarding.storage.models.feedback import ExitFeedbackRow, ExitInterviewRow

    t0 = time.perf_counter()
    c = tables["cases"]

    def py(v: Any) -> Any:
        if v is None or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
            return None
        if isinstance(v, pd.Timestamp):
            return v.floor("us").to_pydatetime()
        if isinstance(v, np.generic):
            return v.item()
        return v

    def rows(df: pd.DataFrame) -> list[dict[str, Any]]:
        return [{k: py(v) for k, v in r.items()} for r in df.to_dict("records")]

    def chunks(items: list, n: int = 50_000):  # noqa: ANN202
        for i in range(0, len(items), n):
            yield items[i : i + n]

    with session_scope(url) as s:
        acc = c.drop_duplicates("account_id")
        s.execute(
            insert(AccountRow),
            [
                {
                    "account_id": r["account_id"],
                    "name": r["account_id"],
                    "segment": r["segment"],
                    "arr": float(r["arr"]),
                    "region": "US",
                    "locale": "en",
                    "data": {"strategic": bool(r["strategic"]), "contract_start": "2020-01-01"},
                    "updated_at": AS_OF,
                }
                for r in acc.to_dict("records")
            ],
        )
        case_rows = []
        for r in rows(c):
            case_rows.append(
                {
                    "case_id": r["case_id"],
                    "account_id": r["account_id"],
                    "status": r["status"],
                    "channel": "email",
                    "requested_by": "x@customer.example",
                    "requested_at": r["requested_at"],
                    "request": {},
                    "reason": None
                    if r["reason_category"] is None
                    else {
                        "category": r["reason_category"],
                        "detail": r["reason_detail"],
                        "product_gap": r["product_gap"],
                        "preventable": r["preventable"],
                        "missed_warning_signs": r["missed_warning_signs"],
                    },
                    "acknowledged_at": r["acknowledged_at"],
                    "completed_at": r["completed_at"],
                    "closed_on": r["closed_on"].date() if r["closed_on"] else None,
                    "winback_candidate": r["winback_candidate"],
                    "winback_remind_on": r["winback_remind_on"].date()
                    if r["winback_remind_on"] and r["winback_candidate"]
                    else None,
                    "waiting_for": r["waiting_for"],
                    "decision_due": r["decision_due"],
                    "legal_hold": False,
                    "created_at": r["requested_at"],
                    "updated_at": r["requested_at"],
                }
            )
        for part in chunks(case_rows):
            s.execute(insert(CaseRow), part)
        st = tables["steps"].assign(result=[{}] * len(tables["steps"]), done_at=AS_OF)
        for part in chunks(rows(st)):
            s.execute(insert(StepRow), part)
        m = tables["messages"].drop(columns=["message_id"])
        m = m.assign(
            seq=np.arange(len(m)),  # unique (case, kind, seq) whatever the random kinds
            to_addr="x@customer.example",
            locale="en",
            subject=m["subject"].fillna("old"),
            location=m["location"].fillna("outbox/old.eml"),
        )
        for part in chunks(rows(m)):
            s.execute(insert(MessageRow), part)
        sa = tables["save_attempts"].assign(
            led_by="csm@example.com", offered="", customer_said="", why=""
        )
        s.execute(insert(SaveAttemptRow), rows(sa))
        ex = tables["exports"].assign(account_id="A", status="delivered")
        s.execute(insert(ExportRow), rows(ex))
        fb = tables["feedback"].assign(
            source="bench",
            recorded_at=AS_OF,
            recorded_by="bench@example.com",
            data=[{}] * len(tables["feedback"]),
        )
        s.execute(insert(ExitFeedbackRow), rows(fb))
        iv = tables["interviews"].assign(recorded_at=AS_OF, recorded_by="bench@example.com")
        s.execute(insert(ExitInterviewRow), rows(iv))
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-store", action="store_true", help="skip the SQLite load timing")
    args = ap.parse_args()

    t0 = time.perf_counter()
    tables = synthetic(args.cases, args.messages)
    data = DashboardData.from_records(**tables)
    gen = time.perf_counter() - t0
    sizes = {k: len(v) for k, v in tables.items()}
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    print(f"machine: {os.cpu_count()} cores, {ram:.0f} GiB, {platform.python_implementation()} "
          f"{platform.python_version()}, pandas {pd.__version__}")  # fmt: skip
    print(f"rows: {sizes} (generated in {gen:.1f} s)")

    compute_s, d = timed(lambda: compute_dashboard(data, AS_OF), args.repeat)
    since = AS_OF - timedelta(days=365)
    compute_year_s, _ = timed(lambda: compute_dashboard(data, AS_OF, since), args.repeat)
    render_s, html = timed(lambda: render_page(d), args.repeat)
    print(
        f"compute_dashboard (all time): {compute_s:.2f} s   (last 365 days): {compute_year_s:.2f} s"
    )
    print(f"render_page: {render_s:.3f} s, {len(html) / 1024:.0f} KiB")
    print(f"checks: churned {d['reasons']['churned']:,}, processing median "
          f"{d['processing_time']['median_days']} d, save rate {d['save_rate']['save_rate']}, "
          f"audit {d['audit']['with_missing']:,} of {d['audit']['audited']:,} "
          "with gaps")  # fmt: skip
    print(f"peak RSS so far: {peak_rss_gib():.2f} GiB")
    load_s = None
    if not args.no_store:
        from offboarding.dashboard.store import load_dashboard_data
        from offboarding.storage.db import engine_for, session_scope

        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            print(f"writing the store (setup): {write_store(url, tables):.1f} s")

            def load() -> DashboardData:
                with session_scope(url) as s:
                    return load_dashboard_data(s, AS_OF)

            load_s, loaded = timed(load, args.repeat)
            both_s, d2 = timed(lambda: compute_dashboard(load(), AS_OF), 1)
            engine_for(url).dispose()
        print(f"load_dashboard_data (SQLite): {load_s:.2f} s; load + compute: {both_s:.2f} s")
        print(f"same figures from the store: save rate {d2['save_rate']['save_rate']}, "
              f"processing median {d2['processing_time']['median_days']} d")  # fmt: skip
        print(f"peak RSS: {peak_rss_gib():.2f} GiB")
    print()
    print("| cases | messages | compute (all time) | compute (365 d) | render page | "
          "load from SQLite | peak RSS |")  # fmt: skip
    print(f"| {args.cases:,} | {args.messages:,} | {compute_s:.2f} s | {compute_year_s:.2f} s | "
          f"{render_s:.2f} s | {'–' if load_s is None else f'{load_s:.2f} s'} | "
          f"{peak_rss_gib():.2f} GiB |")  # fmt: skip


if __name__ == "__main__":
    main()
