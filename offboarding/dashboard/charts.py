"""Inline SVG charts for the dashboard page, as strings with every label escaped, so the page
needs no scripts, fonts or images from anywhere. Pure: figures in, markup out."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

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


def format_number(v: float | int | None, unit: str = "", digits: int = 1) -> str:
    """A figure for a label: thousands separated, whole numbers without decimals, – if unknown."""
    if v is None:
        return "–"
    if isinstance(v, float) and not v.is_integer():
        return f"{v:,.{digits}f}{unit}"
    return f"{int(v):,}{unit}"


def format_share(v: float | None) -> str:
    """A 0–1 share as a whole percentage, – if unknown."""
    return "–" if v is None else f"{100 * v:.0f} %"


def _svg(name: str, title: str, width: int, height: int, body: list[str]) -> Markup:
    """The chart frame: title and aria-label for screen readers, scales to the column width."""
    t = escape(title)
    return Markup(
        f'<svg class="chart" data-chart="{escape(name)}" role="img" aria-label="{t}" '
        f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'xmlns="http://www.w3.org/2000/svg" style="{FONT};max-width:{width}px">'
        f"<title>{t}</title>{''.join(body)}</svg>"
    )


def _empty(name: str, title: str, width: int = 460, height: int = 80) -> Markup:
    """A grey box saying 'no data yet', so an empty period never draws a misleading chart."""
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
        tip = f"<title>{escape(label)}: {escape(format_number(v, unit))}</title>"
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
            f'fill="#24292f">{escape(format_number(v, unit))}</text>'
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
            f"<title>{escape(label)}: {escape(format_number(v, unit))}</title></rect>"
            if v > 0
            else ""
        )
        body.append(
            f'{bar}<text x="{x + slot * 0.35:.1f}" y="{y - 4:.1f}" text-anchor="middle" '
            f'font-size="12" fill="#24292f">{escape(format_number(v, unit))}</text>'
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
                f"{escape(s)}: {format_number(v)}</title></rect>"
            )
        if totals[i]:
            body.append(
                f'<text x="{x + slot * 0.35:.1f}" y="{y - 3:.1f}" text-anchor="middle" '
                f'font-size="11" fill="#24292f">{format_number(totals[i])}</text>'
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
                f'fill="{colours[k]}"><title>{escape(r)} · {escape(k)}: '
                f"{format_number(v)}</title></rect>"
            )
            x += w
        body.append(
            f'<text x="{x + 6:.1f}" y="{y + 16}" font-size="13" fill="#24292f">'
            f"{format_number(totals[r])}</text>"
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
            f"<title>{escape(label)}: {format_number(v)}</title></rect>"
        )
        if w > 40:
            body.append(
                f'<text x="{x + w / 2:.1f}" y="22" text-anchor="middle" font-size="12" '
                f'fill="#ffffff">{format_number(v)}</text>'
            )
        x += w
    lx = 0
    for label, v, colour in parts:
        body.append(
            f'<rect x="{lx}" y="40" width="12" height="12" fill="{colour}"/>'
            f'<text class="legend" x="{lx + 16}" y="51" font-size="12" fill="#24292f">'
            f"{escape(label)} ({format_number(v)})</text>"
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
