"""Leading indicators a person reviews: the weekly spot check of customer messages, the monthly
themes of exit feedback, and the quarterly audit of what each finished case's record must
hold. Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from offboarding.comms.messages import CUSTOMER_KINDS
from offboarding.dashboard.measures.figures import iso_or_none, share_of
from offboarding.dashboard.measures.periods import as_utc, churned_cases, in_period, quarter_start
from offboarding.dashboard.measures.reasons import top_labels, top_terms
from offboarding.feedback.themes import CHURNED, as_text

#: What the record must hold for a finished case, by final status (the quarterly audit).
_CLOSED_STEPS = (
    "intake",
    "acknowledge",
    "save_decision",
    "plan",
    "export_delivered",
    "access_reduction",
    "internal_closeout",
)
REQUIRED_STEPS: dict[str, tuple[str, ...]] = {
    "closed": _CLOSED_STEPS,
    "purged": (*_CLOSED_STEPS, "deactivation", "purge"),
    "saved": ("intake", "acknowledge", "save_decision"),
    "not_a_cancellation": ("intake", "acknowledge"),
    "unconfirmed": ("intake", "acknowledge"),
    "refused_by_account": ("intake", "acknowledge"),
}
_CLOSURE_MESSAGES = (
    "acknowledgement",
    "offboarding_plan",
    "export_ready",
    "exit_survey_invitation",
    "closure_confirmation",
)
REQUIRED_MESSAGES: dict[str, tuple[str, ...]] = {
    "closed": _CLOSURE_MESSAGES,
    "purged": _CLOSURE_MESSAGES,
    "saved": ("acknowledgement",),
    "not_a_cancellation": ("acknowledgement", "back_to_support"),
    "unconfirmed": ("request_received", "requester_confirmation", "requester_unconfirmed"),
    "refused_by_account": ("request_received", "requester_confirmation", "requester_refused"),
}
#: Strategic accounts also get a note from an executive (§9).
STRATEGIC_MESSAGES = ("executive_note",)


def spot_check_sample(messages: pd.DataFrame, as_of: datetime, k: int = 10) -> dict[str, Any]:
    """A random sample of last week's customer messages, the same all week (seeded by ISO week)."""
    now = as_utc(as_of)
    week = messages[
        messages["kind"].isin(CUSTOMER_KINDS)
        & (messages["sent_at"] > now - pd.Timedelta(days=7))
        & (messages["sent_at"] <= now)
    ]
    order = ["message_id"] if "message_id" in week.columns else ["sent_at", "case_id", "kind"]
    week = week.sort_values(order, kind="stable")
    iso = now.isocalendar()
    seed = iso[0] * 100 + iso[1]
    take = min(k, len(week))
    idx = np.sort(np.random.default_rng(seed).choice(len(week), size=take, replace=False))
    sample = week.iloc[idx]
    rows = []
    for r in sample.to_dict("records"):
        rows.append(
            {
                "case_id": r["case_id"],
                "kind": r["kind"],
                "sent_at": iso_or_none(r["sent_at"]),
                "subject": r.get("subject") or "",
                "location": r.get("location") or "",
            }
        )
    return {"week": f"{iso[0]}-W{iso[1]:02d}", "sent_this_week": int(len(week)), "sample": rows}


def theme_summary(
    cases: pd.DataFrame,
    feedback: pd.DataFrame,
    interviews: pd.DataFrame,
    as_of: datetime,
) -> dict[str, Any]:
    """The month so far: what departing customers said, grouped so a person reviews themes."""
    now = as_utc(as_of)
    start = now.normalize().replace(day=1)
    fb = feedback[in_period(feedback["responded_at"], start, now)]
    answered = fb[fb["status"] == "answered"]
    churned = churned_cases(cases, start, now)
    iv = interviews[in_period(interviews["held_at"], start, now)]
    held = iv[iv["status"] == "held"]
    gaps = pd.concat([churned["product_gap"], answered["product_gap"]], ignore_index=True)
    issues = pd.concat(
        [
            churned.loc[churned["reason_category"] == "experience", "reason_detail"],
            answered["service_issue"],
        ],
        ignore_index=True,
    )
    texts = pd.concat(
        [
            answered["main_reason"],
            answered["could_do_better"],
            answered["recommend_why"],
            held["notes"],
        ],
        ignore_index=True,
    )
    quotes = answered[as_text(answered["could_do_better"]) != ""]
    quotes = quotes.sort_values("responded_at", ascending=False).head(3)
    return {
        "month": start.strftime("%Y-%m"),
        "responses": int(len(answered)),
        "declined": int((fb["status"] == "declined").sum()),
        "interviews_held": int(len(held)),
        "reason_categories": {
            k: int(v)
            for k, v in churned["reason_category"].fillna("unrecorded").value_counts().items()
        },
        "product_gaps": top_labels(gaps, 5),
        "service_issues": top_labels(issues, 5),
        "recurring_terms": top_terms(texts, 10),
        "quotes": [
            {"case_id": q["case_id"], "text": str(q["could_do_better"])}
            for q in quotes.to_dict("records")
        ],
    }


def process_audit(
    cases: pd.DataFrame,
    steps: pd.DataFrame,
    messages: pd.DataFrame,
    as_of: datetime,
    limit: int = 50,
) -> dict[str, Any]:
    """Cases finished this quarter whose record lacks a required step or message."""
    now = as_utc(as_of)
    start = quarter_start(now)
    done = cases[
        cases["status"].isin(list(REQUIRED_STEPS)) & in_period(cases["completed_at"], start, now)
    ][["case_id", "account_id", "status", "completed_at", "strategic"]]
    need = []
    for status, names in REQUIRED_STEPS.items():
        ids = done.loc[done["status"] == status, "case_id"]
        need.append(
            pd.DataFrame(
                {
                    "case_id": np.repeat(ids.to_numpy(), len(names)),
                    "item": np.tile([f"step:{n}" for n in names], len(ids)),
                }
            )
        )
    for status, names in REQUIRED_MESSAGES.items():
        ids = done.loc[done["status"] == status, "case_id"]
        need.append(
            pd.DataFrame(
                {
                    "case_id": np.repeat(ids.to_numpy(), len(names)),
                    "item": np.tile([f"message:{n}" for n in names], len(ids)),
                }
            )
        )
    strategic = done[done["status"].isin(CHURNED) & done["strategic"].fillna(False).astype(bool)][
        "case_id"
    ]
    need.append(
        pd.DataFrame(
            {
                "case_id": np.repeat(strategic.to_numpy(), len(STRATEGIC_MESSAGES)),
                "item": np.tile([f"message:{n}" for n in STRATEGIC_MESSAGES], len(strategic)),
            }
        )
    )
    need_df = pd.concat(need, ignore_index=True)
    scope = set(done["case_id"])
    have_steps = steps[steps["case_id"].isin(scope)]
    have_msgs = messages[messages["case_id"].isin(scope)]
    have = pd.concat(
        [
            pd.DataFrame({"case_id": have_steps["case_id"], "item": "step:" + have_steps["step"]}),
            pd.DataFrame({"case_id": have_msgs["case_id"], "item": "message:" + have_msgs["kind"]}),
        ],
        ignore_index=True,
    ).drop_duplicates()
    missing = need_df.merge(have, on=["case_id", "item"], how="left", indicator=True)
    missing = missing[missing["_merge"] == "left_only"]
    grouped = missing.groupby("case_id")["item"].agg(list)
    flagged = done[done["case_id"].isin(grouped.index)].sort_values(["completed_at", "case_id"])
    rows = [
        {
            "case_id": r.case_id,
            "account_id": r.account_id,
            "status": r.status,
            "completed_at": iso_or_none(r.completed_at),
            "missing": sorted(grouped[r.case_id]),
        }
        for r in flagged.head(limit).itertuples()
    ]
    item_counts = missing["item"].value_counts()
    return {
        "quarter": f"{start.year}-Q{(start.month - 1) // 3 + 1}",
        "audited": int(len(done)),
        "with_missing": int(len(flagged)),
        "complete_share": share_of(int(len(done) - len(flagged)), int(len(done))),
        "missing_by_item": {k: int(v) for k, v in item_counts.items()},
        "rows": rows,
    }
