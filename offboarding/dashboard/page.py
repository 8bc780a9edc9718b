"""The dashboard as one self-contained HTML page: figures, inline SVG charts, no scripts, no
fonts or images fetched from anywhere, so it opens from a file, an S3 link or an e-mail
attachment on a laptop without a network.

The charts are drawn in `offboarding.dashboard.charts`; this module picks the figures for the
tiles and charts, and `templates/dashboard/page.html.j2` lays them out. Input is the dict from
`offboarding.dashboard.measures.compute_dashboard`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from offboarding.dashboard.charts import (
    PALETTE,
    STATUS_COLOURS,
    bullet,
    column_chart,
    format_number,
    format_share,
    hbar_chart,
    share_bar,
    stacked_columns,
    stacked_hbars,
)

#: The repository's templates/: this file is offboarding/dashboard/page.py, two levels below.
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def _tile(
    key: str,
    label: str,
    value: str,
    target: str,
    status: str,
    detail: str,
    chart: Markup,
) -> dict[str, Any]:
    """One headline tile as the template reads it, coloured by its met / missed status."""
    return {
        "key": key,
        "label": label,
        "value": value,
        "target": target,
        "status": status,
        "colour": STATUS_COLOURS.get(status, "#24292f"),
        "detail": detail,
        "chart": chart,
    }


def _times100(share: float | None) -> float | None:
    """A 0–1 share on the 0–100 scale of a bullet chart."""
    return None if share is None else share * 100


def tiles(d: dict[str, Any]) -> list[dict[str, Any]]:
    """The headline figures, each with its target and a bullet chart."""
    pt, ack, ex = d["processing_time"], d["acknowledgement_time"], d["export_delivery"]
    fb, sr, sat, n = d["feedback_response"], d["save_rate"], d["satisfaction"], d["nps"]
    wb = {h["months"]: h for h in d["winback"]["horizons"]}
    scale_days = max(21.0, (pt["p90_days"] or 0) * 1.1)
    share = ack["within_target_share"]
    scale_ex = max(96.0, (ex["p90_hours"] or 0) * 1.1)
    return [
        _tile(
            "processing",
            "Processing time (median)",
            format_number(pt["median_days"], " d"),
            "7–14 days",
            pt["status"],
            f"p90 {format_number(pt['p90_days'], ' d')} · {pt['n']} closed · "
            f"{format_share(pt['within_target_share'])} within 14 d",
            bullet(
                "tile-processing",
                "processing time",
                pt["median_days"],
                scale_days,
                (7, 14),
                pt["status"],
            ),
        ),
        _tile(
            "acknowledgement",
            "Acknowledged within 24 h",
            format_share(ack["within_target_share"]),
            "≥ 95 % within 24 h",
            ack["status"],
            f"median {format_number(ack['median_hours'], ' h')} · "
            f"p90 {format_number(ack['p90_hours'], ' h')} · "
            f"{ack['unacknowledged_over_target']} late, still open",
            bullet(
                "tile-ack",
                "share acknowledged within 24 h",
                _times100(share),
                100,
                (95, 100),
                ack["status"],
            ),
        ),
        _tile(
            "export",
            "Export delivery (p90)",
            format_number(ex["p90_hours"], " h"),
            "48–72 h",
            ex["status"],
            f"median {format_number(ex['median_hours'], ' h')} · "
            f"{format_share(ex['within_48h_share'])} ≤ 48 h · "
            f"{ex['pending']} pending",
            bullet(
                "tile-export", "export delivery", ex["p90_hours"], scale_ex, (0, 72), ex["status"]
            ),
        ),
        _tile(
            "feedback",
            "Exit feedback response rate",
            format_share(fb["response_rate"]),
            "40–60 %",
            fb["status"],
            f"{fb['answered']} answered · {fb['declined']} declined · "
            f"{fb['no_answer']} no answer of {fb['churned']}",
            bullet(
                "tile-feedback",
                "feedback rate",
                _times100(fb["response_rate"]),
                100,
                (40, 60),
                fb["status"],
            ),
        ),
        _tile(
            "save",
            "Save rate of attempted saves",
            format_share(sr["save_rate"]),
            "20–30 %",
            sr["status"],
            f"{sr['saved']} saved of {sr['attempted']} attempted · "
            f"{sr['declined_conversation']} declined the conversation",
            bullet(
                "tile-save",
                "save rate",
                _times100(sr["save_rate"]),
                100,
                (20, 30),
                sr["status"],
            ),
        ),
        _tile(
            "satisfaction",
            "Offboarding satisfaction",
            format_number(sat["mean"], " / 10"),
            "7+ of 10",
            sat["status"],
            f"{sat['n']} answers · median {format_number(sat['median'])} · "
            f"{format_share(sat['share_7_plus'])} at 7+",
            bullet("tile-satisfaction", "satisfaction", sat["mean"], 10, (7, 10), sat["status"]),
        ),
        _tile(
            "nps",
            "NPS of former customers",
            format_number(n["nps"]),
            "above 0",
            n["status"],
            f"{n['promoters']} promoters · {n['passives']} passives · {n['detractors']} detractors",
            bullet(
                "tile-nps",
                "NPS",
                None if n["nps"] is None else n["nps"] + 100,
                200,
                (100, 200),
                n["status"],
            ),
        ),
        _tile(
            "winback",
            "Win-back rate (12 months)",
            format_share(wb[12]["rate"]) if 12 in wb else "–",
            "share returning in 12 / 24 / 36 months",
            "no data" if 12 not in wb or wb[12]["rate"] is None else "info",
            " · ".join(
                f"{m} mo: {format_share(h['rate'])} of {h['eligible']}"
                for m, h in sorted(wb.items())
            ),
            bullet(
                "tile-winback",
                "win-back rate",
                None if 12 not in wb or wb[12]["rate"] is None else wb[12]["rate"] * 100,
                100,
                (0, 0),
                "info",
            ),
        ),
    ]


def charts(d: dict[str, Any]) -> dict[str, Markup]:
    """The page's charts by the name the template places them under."""
    op, pt, r = d["open_requests"], d["processing_time"], d["reasons"]
    sr, fb, n = d["save_rate"], d["feedback_response"], d["nps"]
    hist = [(h["bin"], h["count"]) for h in pt["histogram"]]
    band_idx = [i for i, (b, _) in enumerate(hist) if b in ("7–10", "10–14")]
    months = [m["month"] for m in r["by_month"]]
    cats = sorted({c for m in r["by_month"] for c in m["counts"]})
    series = {c: [m["counts"].get(c, 0) for m in r["by_month"]] for c in cats}
    return {
        "open": hbar_chart(
            "open-requests",
            "Open requests by status",
            [(s.replace("_", " "), v) for s, v in op["by_status"].items()],
        ),
        "processing": column_chart(
            "processing-histogram",
            "Processing time, days from request to closure",
            hist,
            band=(band_idx[0], band_idx[-1]) if band_idx else None,
            band_label="target 7–14 days",
        ),
        "reasons": hbar_chart(
            "reasons",
            "Churned cases by reason",
            [(k.replace("_", " "), v) for k, v in r["by_category"].items()],
            colour=PALETTE[5],
        ),
        "reasons_segment": stacked_hbars(
            "reasons-by-segment",
            "Churn reasons by segment",
            {k.replace("_", " "): v for k, v in r["by_segment"].items()},
        ),
        "reasons_month": stacked_columns(
            "reasons-by-month", "Churn reasons by month", months, series
        ),
        "arr": hbar_chart(
            "arr-by-reason",
            "Churned ARR by reason",
            [(k.replace("_", " "), v) for k, v in r["churned_arr_by_reason"].items()],
            colour=PALETTE[3],
        ),
        "save": hbar_chart(
            "save-outcomes",
            "Save attempts by outcome",
            [
                ("saved", sr["saved"]),
                ("not saved", sr["not_saved"]),
                ("declined conversation", sr["declined_conversation"]),
            ],
            colour=PALETTE[2],
        ),
        "feedback": share_bar(
            "feedback-responses",
            "Exit survey: answered, declined, no answer",
            [
                ("answered", fb["answered"], "#1a7f37"),
                ("declined", fb["declined"], "#bf8700"),
                ("no answer", fb["no_answer"], "#8c959f"),
            ],
        ),
        "nps": share_bar(
            "nps-split",
            "Former customers: promoters, passives, detractors",
            [
                ("promoters", n["promoters"], "#1a7f37"),
                ("passives", n["passives"], "#8c959f"),
                ("detractors", n["detractors"], "#cf222e"),
            ],
        ),
        "at_risk": hbar_chart(
            "at-risk-by-priority",
            "Open at-risk episodes by priority",
            list(d["at_risk"]["by_priority"].items()),
            colour=PALETTE[1],
        ),
        "winback": column_chart(
            "winback-rates",
            "Win-back rate by months since closure",
            [
                (f"{h['months']} mo", round(100 * (h["rate"] or 0), 1))
                for h in d["winback"]["horizons"]
            ],
            unit=" %",
            colour=PALETTE[4],
        ),
    }


def _env() -> Environment:
    """Strict (a missing figure is an error, not a blank) and autoescaping."""
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        undefined=StrictUndefined,
        autoescape=select_autoescape(["html", "j2"]),
    )
    env.filters["pct"] = format_share
    env.filters["num"] = format_number
    return env


def render_page(dashboard: dict[str, Any], title: str = "Offboarding dashboard") -> str:
    """The whole page as one HTML string (UTF-8, nothing external)."""
    return (
        _env()
        .get_template("dashboard/page.html.j2")
        .render(
            title=title,
            d=dashboard,
            tiles=tiles(dashboard),
            charts=charts(dashboard),
            status_colours=STATUS_COLOURS,
        )
    )
