"""Charts as server-side SVG: no script, no library, nothing fetched; each drawn from the same
rows as the table printed under it. Every mark carries its numbers (`data-label`,
`data-low`, `data-high`; empty high: unknown) so that a reader's tools, and the browser
tests, can check the picture against the table. Labels are escaped text, never markup."""

from __future__ import annotations

from html import escape as _escape

from django.utils.safestring import mark_safe

# Drawn for a phone (text stays legible at 360 px wide), scaled up on wider screens.
WIDTH, HEIGHT = 420, 220
LEFT, RIGHT, TOP, BOTTOM = 40, 10, 12, 32


def escape(value) -> str:
    """HTML-escaped text (quotes too), as Django's `escape` without its lazy wrapper."""
    return _escape(str(value))


def _attr(value) -> str:
    return "" if value is None else _escape(str(value))


def _nice_max(value: int) -> int:
    if value <= 5:
        return 5
    step = 10 ** (len(str(value)) - 1)
    return ((value + step - 1) // step) * step


def band_svg(chart: dict, chart_id: str) -> str:
    """On hand over time: the band between the low and the high bound; where the high bound
    is unknown the band runs to the top, hatched, and the point says "unknown"."""
    points = chart["points"]
    if not points:
        return ""
    known = [p["high"] for p in points if p["high"] is not None] + [p["low"] for p in points]
    top = _nice_max(max(known + [1]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = len(points)

    def x(i: int) -> float:
        return LEFT + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return TOP + plot_h - plot_h * v / top

    upper = [(x(i), y(top if p["high"] is None else p["high"])) for i, p in enumerate(points)]
    lower = [(x(i), y(p["low"])) for i, p in enumerate(points)]
    band = " ".join(f"{a:.1f},{b:.1f}" for a, b in upper + lower[::-1])
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}-title" data-chart="band" id="{chart_id}">',
        f'<title id="{chart_id}-title">{escape(chart["title"])}</title>',
        '<defs><pattern id="' + chart_id + '-hatch" width="6" height="6" '
        'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#8fb3d9" stroke-width="2"/></pattern></defs>',
    ]
    for tick in (0, top // 2, top):
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            f'stroke="#d5dbe3"/><text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" '
            f'text-anchor="end" class="tick">{tick}</text>'
        )
    parts.append(f'<polygon points="{band}" fill="#cfe0f3" stroke="none"/>')
    parts.append(
        '<polyline fill="none" stroke="#1f5fa8" stroke-width="2" points="'
        + " ".join(f"{a:.1f},{b:.1f}" for a, b in lower)
        + '"/>'
    )
    parts.append(
        '<polyline fill="none" stroke="#1f5fa8" stroke-width="1.5" stroke-dasharray="4 3" points="'
        + " ".join(f"{a:.1f},{b:.1f}" for a, b in upper)
        + '"/>'
    )
    for i, p in enumerate(points):
        if p["high"] is None:
            parts.append(
                f'<rect x="{x(i) - 2:.1f}" y="{TOP}" width="4" height="{y(p["low"]) - TOP:.1f}" '
                f'fill="url(#{chart_id}-hatch)"/>'
            )
        parts.append(
            f'<circle class="mark" cx="{x(i):.1f}" cy="{y(p["low"]):.1f}" r="2.5" fill="#1f5fa8" '
            f'data-label="{_attr(p["label"])}" data-low="{_attr(p["low"])}" '
            f'data-high="{_attr(p["high"])}"><title>{escape(p["label"])}: '
            f"{p['low']}–{'unknown' if p['high'] is None else p['high']}</title></circle>"
        )
    for i in sorted({0, n - 1}):
        parts.append(
            f'<text x="{x(i):.1f}" y="{HEIGHT - 12}" text-anchor="{"start" if i == 0 else "end"}" '
            f'class="tick">{escape(points[i]["label"])}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every piece of data above is escaped


def bars_svg(chart: dict, chart_id: str) -> str:
    """Horizontal bars: the low bound solid, up to the high bound lighter; an unknown high
    bound is a hatched bar to the edge."""
    bars = chart["bars"]
    if not bars:
        return ""
    row_h, label_w = 26, 150
    height = TOP + row_h * len(bars) + 8
    top = _nice_max(max([b["high"] or 0 for b in bars] + [b["low"] for b in bars] + [1]))
    plot_w = WIDTH - label_w - 60

    def w(v: float) -> float:
        return plot_w * v / top

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title" data-chart="bars" id="{chart_id}">',
        f'<title id="{chart_id}-title">{escape(chart["title"])}</title>',
        '<defs><pattern id="' + chart_id + '-hatch" width="6" height="6" '
        'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#8fb3d9" stroke-width="2"/></pattern></defs>',
    ]
    for i, bar in enumerate(bars):
        y = TOP + i * row_h
        label = bar["label"] if len(bar["label"]) <= 22 else bar["label"][:21] + "…"
        high = bar["high"]
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 16}" text-anchor="end" class="label">'
            f"{escape(label)}</text>"
        )
        extent = plot_w if high is None else w(high)
        fill = f"url(#{chart_id}-hatch)" if high is None else "#cfe0f3"
        parts.append(
            f'<rect x="{label_w}" y="{y + 4}" width="{extent:.1f}" height="16" fill="{fill}"/>'
        )
        parts.append(
            f'<rect class="mark" x="{label_w}" y="{y + 4}" width="{w(bar["low"]):.1f}" '
            f'height="16" fill="#1f5fa8" data-label="{_attr(bar["label"])}" '
            f'data-low="{_attr(bar["low"])}" data-high="{_attr(high)}">'
            f"<title>{escape(bar['label'])}: {bar['low']}–{'unknown' if high is None else high}"
            "</title></rect>"
        )
        shown = "?" if high is None else high
        value = str(high) if high == bar["low"] else f"{bar['low']}–{shown}"
        parts.append(
            f'<text x="{min(label_w + extent + 4, WIDTH - 50):.1f}" y="{y + 16}" '
            f'class="value">{value}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every piece of data above is escaped


def band_rows_html(chart: dict) -> str:
    """The rows of a band chart's table ("The chart's numbers"): per month its low and
    high, each linked to the explanation; built here, not in a template loop (a chart has
    up to 120 months, three charts a page)."""
    link = _attr(chart["explain_url"])
    rows = []
    for point in chart["points"]:
        label, low, high = _attr(point["label"]), point["low"], point["high"]
        rows.append(
            f'<tr data-label="{label}" data-low="{_attr(low)}" data-high="{_attr(high)}">'
            f'<td>{label}</td><td class="num"><a href="{link}">{_attr(low)}</a></td>'
            f'<td class="num"><a href="{link}">{"unknown" if high is None else high}</a></td>'
            "</tr>"
        )
    return mark_safe("".join(rows))  # every piece of data above is escaped


def bar_rows_html(chart: dict) -> str:
    """The rows of a bar chart's table: per bar its label (linked when it has a page), low
    and high."""
    rows = []
    for bar in chart["bars"]:
        label, low, high = _attr(bar["label"]), bar["low"], bar["high"]
        name = f'<a href="{_attr(bar["url"])}">{label}</a>' if bar.get("url") else label
        rows.append(
            f'<tr data-label="{label}" data-low="{_attr(low)}" data-high="{_attr(high)}">'
            f'<td>{name}</td><td class="num">{_attr(low)}</td>'
            f'<td class="num">{"unknown" if high is None else high}</td></tr>'
        )
    return mark_safe("".join(rows))  # every piece of data above is escaped
