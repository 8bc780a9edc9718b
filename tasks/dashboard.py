"""Dashboard side effects: refresh churn patterns and tell product, compute the measures,
write the page (local file and object store), publish Prefect artifacts.

Each is safe to repeat: patterns are keyed by (kind, key, generation) and notified once
(`notified_at` in our database); the page is written to fixed names, so a rerun replaces
the same objects; artifacts are keyed, so the UI shows the latest next to its history.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import task
from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_table_artifact,
)

from offboarding.adapters.s3.object_store import ObjectStore
from offboarding.dashboard.measures import compute_dashboard, period_start
from offboarding.dashboard.page import render_page
from offboarding.dashboard.store import load_citations, load_dashboard_data
from offboarding.feedback.patterns import (
    PATTERN_RECIPIENTS,
    PATTERN_SENDER,
    PATTERN_THRESHOLD,
    PATTERN_WINDOW_DAYS,
    pattern_notice,
)
from offboarding.feedback.store.notices import (
    claim_notice,
    mark_notified,
    notices_to_send,
    release_notice,
)
from offboarding.feedback.store.patterns import pattern_view, record_patterns
from offboarding.settings import get_settings
from offboarding.storage.db import utcnow
from offboarding.storage.models.feedback import FeedbackPatternRow
from tasks.common import RETRYING, db

PAGE_NAME = "offboarding-dashboard.html"
LINK_DAYS = 7  # presigned links last at most 7 days (SigV4); the page is rebuilt daily
ARTIFACT_KEYS = {
    "table": "offboarding-dashboard-measures",
    "markdown": "offboarding-dashboard-summary",
    "link": "offboarding-dashboard-page",
}


def default_page_path() -> Path:
    return get_settings().state_dir / "dashboard" / PAGE_NAME


def pattern_recipients() -> list[str]:
    team = list(get_settings().policy().comms.team_notify)
    return [*dict.fromkeys([*PATTERN_RECIPIENTS, *team])]


def refresh_patterns_now(
    threshold: int = PATTERN_THRESHOLD,
    window_days: int = PATTERN_WINDOW_DAYS,
    as_of: datetime | None = None,
) -> dict[str, list[str]]:
    with db() as s:
        citations = load_citations(s)
        return record_patterns(s, citations, threshold, window_days, as_of)


def notify_patterns_now(recipients: list[str] | None = None) -> list[dict[str, Any]]:
    """Send each open pattern's notice to product, support and CS leadership, once.

    The notice is claimed in our database before the mailer is called and marked sent after
    (see offboarding.feedback.store.notices.claim_notice): a retry or a rerun never sends it twice.
    """
    from offboarding.comms.mailer import (
        Address,
        OutgoingMessage,
        PermanentMailError,
        TransientMailError,
    )
    from offboarding.comms.transport import build_mailer

    settings = get_settings()
    mailer = build_mailer(settings)
    to = recipients or pattern_recipients()
    sender = Address(settings.mail_from or PATTERN_SENDER, "Offboarding dashboard")
    now = utcnow()
    with db() as s:
        due = notices_to_send(s, mailer.replay_safe, now)
    sent = []
    for pattern_id in due:
        with db() as s:
            if not claim_notice(s, pattern_id, now):
                continue
            view = pattern_view(s.get(FeedbackPatternRow, pattern_id))
        subject, text = pattern_notice(view)
        message = OutgoingMessage(
            key=f"offboarding-pattern-{pattern_id}",
            case_id=pattern_id,
            kind="pattern_notice",
            seq=1,
            locale="en",
            subject=subject,
            text=text,
            html="",
            to=tuple(to),
            sender=sender,
        )
        try:
            delivery = mailer.send(message)
        except PermanentMailError as exc:
            with db() as s:
                release_notice(s, pattern_id, "failed", str(exc))
            continue
        except TransientMailError:
            with db() as s:  # not accepted by the provider: free to try again
                release_notice(s, pattern_id, None)
            raise
        with db() as s:
            mark_notified(s, pattern_id, to, delivery.location)
        sent.append({"pattern_id": pattern_id, "to": to, "location": delivery.location})
    return sent


@task(name="refresh-patterns", **RETRYING)
def refresh_patterns(
    threshold: int = PATTERN_THRESHOLD,
    window_days: int = PATTERN_WINDOW_DAYS,
    as_of: datetime | None = None,
) -> dict[str, list[str]]:
    """Record new churn patterns and add new citations to open ones."""
    return refresh_patterns_now(threshold, window_days, as_of)


@task(name="notify-patterns", **RETRYING)
def notify_patterns(recipients: list[str] | None = None) -> list[dict[str, Any]]:
    return notify_patterns_now(recipients)


def dashboard_now(as_of: datetime | None = None, since_days: int | None = None) -> dict[str, Any]:
    """Every measure, from the store, as of `as_of` (default: now)."""
    as_of = as_of or datetime.now(UTC)
    ack = get_settings().policy().comms.acknowledgement_target_hours
    with db() as s:
        data = load_dashboard_data(s, as_of)
    return compute_dashboard(data, as_of, period_start(as_of, since_days), ack)


@task(name="compute-dashboard", **RETRYING)
def compute_measures(as_of: datetime | None = None, since_days: int | None = None) -> dict:
    return dashboard_now(as_of, since_days)


def write_local(html: str, path: Path) -> Path:
    """Atomically: a reader never sees half a page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    return path.resolve()


@task(name="publish-dashboard-page", **RETRYING)
def publish_page(dashboard: dict[str, Any], local_path: str | None = None) -> dict[str, Any]:
    """The page to a local file and to the object store (latest and a dated copy)."""
    html = render_page(dashboard)
    path = write_local(html, Path(local_path) if local_path else default_page_path())
    settings = get_settings()
    store = ObjectStore(settings.bucket, settings.prefix)
    store.ensure_bucket()
    data = html.encode("utf-8")
    day = dashboard["as_of"][:10]
    latest = store.key("dashboard", PAGE_NAME)
    dated = store.key("dashboard", day, PAGE_NAME)
    for key in (dated, latest):
        store.put_bytes(key, data, "text/html; charset=utf-8")
    return {
        "local_path": str(path),
        "bucket": store.bucket,
        "key": latest,
        "dated_key": dated,
        "s3_uri": f"s3://{store.bucket}/{latest}",
        "url": store.presign(latest, LINK_DAYS * 86_400),
        "bytes": len(data),
    }


def measure_rows(d: dict[str, Any]) -> list[dict[str, str]]:
    """The §13 table: one row per measure with its value, target and judgement."""

    def pct(v: float | None) -> str:
        return "–" if v is None else f"{100 * v:.0f} %"

    def num(v: float | None, unit: str = "") -> str:
        return "–" if v is None else f"{v:g}{unit}"

    pt, ack, ex = d["processing_time"], d["acknowledgement_time"], d["export_delivery"]
    fb, sr, sat, n = d["feedback_response"], d["save_rate"], d["satisfaction"], d["nps"]
    op = d["open_requests"]
    rows = [
        ("open requests", str(op["total"]), "–", "info", f"{op['overdue_decisions']} overdue"),
        (
            "processing time (median / p90)",
            f"{num(pt['median_days'], ' d')} / {num(pt['p90_days'], ' d')}",
            pt["target"],
            pt["status"],
            f"{pt['n']} closed",
        ),
        (
            "acknowledgement within 24 h",
            pct(ack["within_target_share"]),
            ack["target"],
            ack["status"],
            f"median {num(ack['median_hours'], ' h')}",
        ),
        (
            "export delivery (median / p90)",
            f"{num(ex['median_hours'], ' h')} / {num(ex['p90_hours'], ' h')}",
            ex["target"],
            ex["status"],
            f"{ex['pending']} pending",
        ),
        (
            "exit feedback response rate",
            pct(fb["response_rate"]),
            fb["target"],
            fb["status"],
            f"{fb['answered']} answered, {fb['declined']} declined of {fb['churned']}",
        ),
        (
            "save rate of attempted saves",
            pct(sr["save_rate"]),
            sr["target"],
            sr["status"],
            f"{sr['saved']} of {sr['attempted']}",
        ),
        (
            "offboarding satisfaction",
            num(sat["mean"]),
            sat["target"],
            sat["status"],
            f"{sat['n']} answers",
        ),
        ("NPS of former customers", num(n["nps"]), n["target"], n["status"], f"{n['n']} answers"),
    ]
    for h in d["winback"]["horizons"]:
        rows.append(
            (
                f"win-back rate {h['months']} months",
                pct(h["rate"]),
                "share returning",
                "info" if h["rate"] is not None else "no data",
                f"{h['returned']} of {h['eligible']}",
            )
        )
    re = d["reengagement"]
    rows.append(
        (
            "re-engagement candidates",
            str(re["candidates"]),
            "–",
            "info",
            f"{re['due_within_30_days']} due in 30 days",
        )
    )
    ar, fl = d["at_risk"], d["flagged_before_asking"]
    rows.append(
        ("accounts at risk (§14)", str(ar["accounts"]), "–", "info",
         f"{ar['open']} open episodes, {ar['past_response_target']} past response target")
    )  # fmt: skip
    rows.append(
        ("churned accounts flagged before they asked", pct(fl["share"]), "–", fl["status"],
         f"{fl['flagged']} of {fl['churned']}, median {num(fl['median_days_before'], ' d')} "
         "before the request")
    )  # fmt: skip
    keys = ("measure", "value", "target", "status", "detail")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def summary_markdown(d: dict[str, Any], page: dict[str, Any]) -> str:
    r, a, t = d["reasons"], d["audit"], d["themes"]
    lines = [
        f"# Offboarding dashboard · {d['as_of'][:16].replace('T', ' ')} UTC",
        "",
        f"**Page:** [open the dashboard]({page['url']}) (link valid {LINK_DAYS} days) · "
        f"`{page['s3_uri']}` · local file `{page['local_path']}`",
        "",
        "| measure | value | target | status |",
        "|---|---|---|---|",
        *(
            f"| {m['measure']} | {m['value']} | {m['target']} | {m['status']} |"
            for m in measure_rows(d)
        ),
        "",
        f"## Churn reasons ({r['churned']} churned)",
        *(f"- {k.replace('_', ' ')}: {v}" for k, v in r["by_category"].items()),
        "",
        "## Patterns",
        *(
            f'- **{p["pattern_id"]}** {p["kind"].replace("_", " ")} "{p["label"]}": '
            f"{p['customers']} customers ({p['status']})"
            for p in d["patterns"]
        ),
        *([] if d["patterns"] else ["- none"]),
        "",
        f"## Quarterly audit {a['quarter']}: {a['with_missing']} of {a['audited']} cases "
        "with something missing",
        *(f"- {x['case_id']}: {', '.join(x['missing'])}" for x in a["rows"][:20]),
        "",
        f"## Feedback themes {t['month']}",
        *(f"- gap: {g['label']} ({g['count']})" for g in t["product_gaps"]),
        *(f"- issue: {g['label']} ({g['count']})" for g in t["service_issues"]),
        "",
        f"## Spot check {d['spot_check']['week']}: read these messages",
        *(f"- {m['case_id']} {m['kind']}: {m['subject']}" for m in d["spot_check"]["sample"]),
    ]
    if d.get("notes", {}).get("winback"):
        lines += ["", f"_Win-back rate source: {d['notes']['winback']}._"]
    return "\n".join(lines)


@task(name="publish-dashboard-artifacts", **RETRYING)
def publish_artifacts(dashboard: dict[str, Any], page: dict[str, Any]) -> dict[str, str]:
    """A table of the measures, a markdown summary, and a link to the page."""
    ids = {
        "table": create_table_artifact(
            measure_rows(dashboard),
            key=ARTIFACT_KEYS["table"],
            description="Offboarding success measures (PLAYBOOK §13)",
        ),
        "markdown": create_markdown_artifact(
            summary_markdown(dashboard, page),
            key=ARTIFACT_KEYS["markdown"],
            description="Offboarding dashboard summary",
        ),
        "link": create_link_artifact(
            page["url"],
            link_text="Offboarding dashboard (self-contained HTML)",
            key=ARTIFACT_KEYS["link"],
            description=f"{page['s3_uri']} · local copy {page['local_path']}",
        ),
    }
    return {k: str(v) for k, v in ids.items()}
