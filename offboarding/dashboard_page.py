"""The dashboard as one self-contained HTML page: figures, inline SVG charts, no scripts, no
fonts or images fetched from anywhere, so it opens from a file, an S3 link or an e-mail
attachment on a laptop without a network.

Charts are drawn here as SVG strings (every label escaped); `templates/dashboard/page.html.j2`
lays them out. Input is the dict from `offboarding.kpi.compute_dashboard`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

#: Colour-blind-safe palette (Okabe–Ito), then greys.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
    "#999999",
    "#666666",
    "#BBBBBB",
    "#444444",
    "#DDDDDD",
    "#777777",
)
STATUS_COLOURS = {"met": "#1a7f37", "missed": "#cf222e", "no data": "#6e7781", "info": "#0969da"}
FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif"


def _fmt(v: float | int | None, unit: str = "", digits: int = 1) -> str:
    if v is None:
        return "–"
    if isinstance(v, float) and not v.is_integer():
        return f"{v:,.{digits}f}{unit}"
    return f"{int(v):,}{unit}"


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.0f} %"


def _svg(name: str, title: str, width: int, height: int, body: list[str]) -> Markup:
    t = escape(title)
    return Markup(
        f'<svg class="chart" data-chart="{escape(name)}" role="img" aria-label="{t}" '
        f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'xmlns="http://www.w3.org/2000/svg" style="{FONT};max-width:{width}px">'
        f"<title>{t}</title>{''.join(body)}</svg>"
    )


def _empty(name: str, title: str, width: int = 460, height: int = 80) -> Markup:
    return _svg(
        name,
        title,
        width,
        height,
        [
            f'<rect x="0" y="0" width="{width}" height="{height}" fill="#f6f8fa" rx="6"/>',
            f'<text x="{width / 2}" y="{height / 2 + 5}" text-anchor="middle" font-size="14" '
            f'fill="#6e7781">no data yet</text>',
        ],
    )


def hbar_chart(
    name: str,
    title: str,
    items: Sequence[tuple[str, float]],
    unit: str = "",
    colour: str = PALETTE[0],
    width: int = 460,
    label_width: int = 175,
) -> Markup:
    """Horizontal bars, one per label, value at the bar's end."""
    items = [(str(k), float(v)) for k, v in items]
    if not items or max(v for _, v in items) <= 0:
        return _empty(name, title, width)
    row, top = 24, 6
    height = top + row * len(items) + 6
    vmax = max(v for _, v in items)
    plot = width - label_width - 70
    body = []
    for i, (label, v) in enumerate(items):
        y = top + i * row
        w = max(1.0, plot * v / vmax) if v > 0 else 0.0
        tip = f"<title>{escape(label)}: {escape(_fmt(v, unit))}</title>"
        bar = (
            f'<rect class="bar" x="{label_width}" y="{y + 3}" width="{w:.1f}" height="17" '
            f'fill="{colour}" rx="2">{tip}</rect>'
            if v > 0
            else ""
        )
        body.append(
            f'<text x="{label_width - 8}" y="{y + 16}" text-anchor="end" font-size="13" '
            f'fill="#24292f">{escape(label[:26])}</text>{bar}'
            f'<text x="{label_width + w + 6:.1f}" y="{y + 16}" font-size="13" '
            f'fill="#24292f">{escape(_fmt(v, unit))}</text>'
        )
    return _svg(name, title, width, height, body)


def column_chart(
    name: str,
    title: str,
    items: Sequence[tuple[str, float]],
    band: tuple[int, int] | None = None,
    band_label: str = "",
    colour: str = PALETTE[0],
    width: int = 460,
    height: int = 200,
    unit: str = "",
) -> Markup:
    """Vertical columns; `band` shades the columns whose index range is the target."""
    items = [(str(k), float(v)) for k, v in items]
    if not items or max(v for _, v in items) <= 0:
        return _empty(name, title, width)
    left, bottom, top = 10, 36, 40 if band is not None else 22
    plot_h = height - bottom - top
    slot = (width - 2 * left) / len(items)
    vmax = max(v for _, v in items)
    body = []
    if band is not None:
        x0 = left + band[0] * slot
        x1 = left + (band[1] + 1) * slot
        body.append(
            f'<rect class="target-band" x="{x0:.1f}" y="{top - 38}" width="{x1 - x0:.1f}" '
            f'height="{plot_h + 38}" fill="#dafbe1"/>'
            f'<text x="{(x0 + x1) / 2:.1f}" y="{top - 24}" text-anchor="middle" font-size="12" '
            f'fill="#1a7f37">{escape(band_label)}</text>'
        )
    for i, (label, v) in enumerate(items):
        h = plot_h * v / vmax if vmax else 0
        x = left + i * slot + slot * 0.15
        y = top + plot_h - h
        bar = (
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{h:.1f}" fill="{colour}" rx="2">'
            f"<title>{escape(label)}: {escape(_fmt(v, unit))}</title></rect>"
            if v > 0
            else ""
        )
        body.append(
            f'{bar}<text x="{x + slot * 0.35:.1f}" y="{y - 4:.1f}" text-anchor="middle" '
            f'font-size="12" fill="#24292f">{escape(_fmt(v, unit))}</text>'
            f'<text x="{x + slot * 0.35:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
            f'font-size="12" fill="#57606a">{escape(label)}</text>'
        )
    body.append(
        f'<line x1="{left}" x2="{width - left}" y1="{top + plot_h}" y2="{top + plot_h}" '
        f'stroke="#8c959f"/>'
    )
    return _svg(name, title, width, height, body)


def stacked_columns(
    name: str,
    title: str,
    periods: Sequence[str],
    series: dict[str, Sequence[float]],
    width: int = 620,
    height: int = 230,
) -> Markup:
    """Columns per period, stacked by series, with a legend (reasons by month)."""
    totals = [sum(vals[i] for vals in series.values()) for i in range(len(periods))]
    if not periods or max(totals, default=0) <= 0:
        return _empty(name, title, width)
    left, bottom, top = 10, 40, 10
    legend_h = 20 * ((len(series) + 3) // 4)
    plot_h = height - bottom - top
    slot = (width - 2 * left) / len(periods)
    vmax = max(totals)
    colours = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(series)}
    body = []
    for i, period in enumerate(periods):
        y = top + plot_h
        x = left + i * slot + slot * 0.15
        for s, vals in series.items():
            v = vals[i]
            if v <= 0:
                continue
            h = plot_h * v / vmax
            y -= h
            body.append(
                f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" '
                f'height="{h:.1f}" fill="{colours[s]}"><title>{escape(period)} · '
                f"{escape(s)}: {_fmt(v)}</title></rect>"
            )
        if totals[i]:
            body.append(
                f'<text x="{x + slot * 0.35:.1f}" y="{y - 3:.1f}" text-anchor="middle" '
                f'font-size="11" fill="#24292f">{_fmt(totals[i])}</text>'
            )
        body.append(
            f'<text x="{x + slot * 0.35:.1f}" y="{top + plot_h + 15}" text-anchor="middle" '
            f'font-size="11" fill="#57606a">{escape(period[2:])}</text>'
        )
    for j, s in enumerate(series):
        lx = left + (j % 4) * ((width - 2 * left) / 4)
        ly = height + 4 + 20 * (j // 4)
        body.append(
            f'<rect x="{lx:.1f}" y="{ly}" width="12" height="12" fill="{colours[s]}"/>'
            f'<text class="legend" x="{lx + 16:.1f}" y="{ly + 11}" font-size="12" '
            f'fill="#24292f">{escape(s)}</text>'
        )
    return _svg(name, title, width, height + legend_h + 6, body)


def stacked_hbars(
    name: str,
    title: str,
    rows: dict[str, dict[str, float]],
    width: int = 620,
    label_width: int = 160,
) -> Markup:
    """One horizontal bar per row, split by column (reasons by segment), with a legend."""
    keys = sorted({k for r in rows.values() for k in r})
    totals = {r: sum(v.values()) for r, v in rows.items()}
    if not rows or max(totals.values(), default=0) <= 0:
        return _empty(name, title, width)
    order = sorted(rows, key=lambda r: -totals[r])
    colours = {k: PALETTE[i % len(PALETTE)] for i, k in enumerate(keys)}
    row, top = 24, 6
    plot = width - label_width - 50
    vmax = max(totals.values())
    body = []
    for i, r in enumerate(order):
        y = top + i * row
        x = float(label_width)
        body.append(
            f'<text x="{label_width - 8}" y="{y + 16}" text-anchor="end" font-size="13" '
            f'fill="#24292f">{escape(r[:24])}</text>'
        )
        for k in keys:
            v = rows[r].get(k, 0)
            if v <= 0:
                continue
            w = plot * v / vmax
            body.append(
                f'<rect class="bar" x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="17" '
                f'fill="{colours[k]}"><title>{escape(r)} · {escape(k)}: {_fmt(v)}</title></rect>'
            )
            x += w
        body.append(
            f'<text x="{x + 6:.1f}" y="{y + 16}" font-size="13" fill="#24292f">'
            f"{_fmt(totals[r])}</text>"
        )
    ly = top + row * len(order) + 8
    for j, k in enumerate(keys):
        lx = label_width + j * 120
        body.append(
            f'<rect x="{lx}" y="{ly}" width="12" height="12" fill="{colours[k]}"/>'
            f'<text class="legend" x="{lx + 16}" y="{ly + 11}" font-size="12" '
            f'fill="#24292f">{escape(k)}</text>'
        )
    return _svg(name, title, width, ly + 20, body)


def share_bar(
    name: str, title: str, parts: Sequence[tuple[str, float, str]], width: int = 460
) -> Markup:
    """One 100 % bar split into labelled parts (answered / declined / no answer)."""
    total = sum(v for _, v, _ in parts)
    if total <= 0:
        return _empty(name, title, width, 60)
    body, x = [], 0.0
    for label, v, colour in parts:
        if v <= 0:
            continue
        w = width * v / total
        body.append(
            f'<rect class="bar" x="{x:.1f}" y="4" width="{w:.1f}" height="26" fill="{colour}">'
            f"<title>{escape(label)}: {_fmt(v)}</title></rect>"
        )
        if w > 40:
            body.append(
                f'<text x="{x + w / 2:.1f}" y="22" text-anchor="middle" font-size="12" '
                f'fill="#ffffff">{_fmt(v)}</text>'
            )
        x += w
    lx = 0
    for label, v, colour in parts:
        body.append(
            f'<rect x="{lx}" y="40" width="12" height="12" fill="{colour}"/>'
            f'<text class="legend" x="{lx + 16}" y="51" font-size="12" fill="#24292f">'
            f"{escape(label)} ({_fmt(v)})</text>"
        )
        lx += 150
    return _svg(name, title, width, 58, body)


def bullet(
    name: str,
    title: str,
    value: float | None,
    scale_max: float,
    band: tuple[float, float],
    status: str,
) -> Markup:
    """A bullet chart for a tile: the scale, the target band shaded, the value as a bar."""
    width, height = 220, 26
    body = [f'<rect x="0" y="8" width="{width}" height="10" fill="#eaeef2" rx="2"/>']
    lo, hi = (max(0.0, min(b, scale_max)) for b in band)
    body.append(
        f'<rect class="target-band" x="{width * lo / scale_max:.1f}" y="4" '
        f'width="{width * (hi - lo) / scale_max:.1f}" height="18" fill="#dafbe1" '
        f'stroke="#1a7f37" stroke-width="0.6"/>'
    )
    if value is not None:
        v = max(0.0, min(float(value), scale_max))
        body.append(
            f'<rect class="bar" x="0" y="10" width="{width * v / scale_max:.1f}" height="6" '
            f'fill="{STATUS_COLOURS.get(status, "#24292f")}"/>'
        )
    return _svg(name, title, width, height, body)


# -- the page -------------------------------------------------------------------------------


def _tile(
    key: str,
    label: str,
    value: str,
    target: str,
    status: str,
    detail: str,
    chart: Markup,
) -> dict[str, Any]:
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
            _fmt(pt["median_days"], " d"),
            "7–14 days",
            pt["status"],
            f"p90 {_fmt(pt['p90_days'], ' d')} · {pt['n']} closed · "
            f"{_pct(pt['within_target_share'])} within 14 d",
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
            _pct(ack["within_target_share"]),
            "≥ 95 % within 24 h",
            ack["status"],
            f"median {_fmt(ack['median_hours'], ' h')} · p90 {_fmt(ack['p90_hours'], ' h')} · "
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
            _fmt(ex["p90_hours"], " h"),
            "48–72 h",
            ex["status"],
            f"median {_fmt(ex['median_hours'], ' h')} · {_pct(ex['within_48h_share'])} ≤ 48 h · "
            f"{ex['pending']} pending",
            bullet(
                "tile-export", "export delivery", ex["p90_hours"], scale_ex, (0, 72), ex["status"]
            ),
        ),
        _tile(
            "feedback",
            "Exit feedback response rate",
            _pct(fb["response_rate"]),
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
            _pct(sr["save_rate"]),
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
            _fmt(sat["mean"], " / 10"),
            "7+ of 10",
            sat["status"],
            f"{sat['n']} answers · median {_fmt(sat['median'])} · "
            f"{_pct(sat['share_7_plus'])} at 7+",
            bullet("tile-satisfaction", "satisfaction", sat["mean"], 10, (7, 10), sat["status"]),
        ),
        _tile(
            "nps",
            "NPS of former customers",
            _fmt(n["nps"]),
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
            _pct(wb[12]["rate"]) if 12 in wb else "–",
            "share returning in 12 / 24 / 36 months",
            "no data" if 12 not in wb or wb[12]["rate"] is None else "info",
            " · ".join(
                f"{m} mo: {_pct(h['rate'])} of {h['eligible']}" for m, h in sorted(wb.items())
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
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        undefined=StrictUndefined,
        autoescape=select_autoescape(["html", "j2"]),
    )
    env.filters["pct"] = _pct
    env.filters["num"] = _fmt
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
