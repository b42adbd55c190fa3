"""Charts for the report emails, drawn with matplotlib's Agg backend (no display needed)
and returned as PNG bytes, attached inline (Content-ID) by `reports.rendering`.

Labels are names from data: they are drawn as plain text, never parsed as mathtext
(`text.parse_math` off while a chart is built and saved), so a system called
`Bad $^$ missile` is a label, not a TeX error."""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # before pyplot: never look for a display

from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from stock.choices import EstimateScope  # noqa: E402
from stock.selectors import estimate_series  # noqa: E402

MAX_SYSTEMS = 8
# While a chart is drawn: text from data is text.
PLAIN_TEXT = {"text.parse_math": False, "text.usetex": False}


def plain_text(draw):
    """Build and save the chart with mathtext off."""

    @functools.wraps(draw)
    def drawn(*args, **kwargs):
        with matplotlib.rc_context(PLAIN_TEXT):
            return draw(*args, **kwargs)

    return drawn


@dataclass
class Chart:
    cid: str
    title: str
    alt: str
    png: bytes

    def __post_init__(self) -> None:
        # The alt text quotes record names. It is escaped in the template, but the CSS
        # inliner re-serializes attributes with bare "<" (valid HTML, yet it looks like a
        # tag to naive filters): keep angle brackets out of it altogether.
        self.alt = self.alt.replace("<", "‹").replace(">", "›")


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


@plain_text
def pledged_vs_delivered_chart(outstanding) -> Chart | None:
    """Bars per system: units pledged (lower bound) against units delivered so far, over
    the subscriber's outstanding pledges."""
    totals: dict[str, list[int]] = {}
    for pledge in outstanding:
        pledged, delivered = totals.setdefault(pledge.system_name, [0, 0])
        totals[pledge.system_name] = [
            pledged + pledge.pledged.low,
            delivered + pledge.delivered.low,
        ]
    if not totals:
        return None
    names = sorted(totals, key=lambda name: -totals[name][0])[:MAX_SYSTEMS]
    figure = Figure(figsize=(6.4, 0.5 + 0.45 * len(names)))
    axes = figure.subplots()
    positions = list(range(len(names)))
    height = 0.38
    axes.barh(
        [p - height / 2 for p in positions],
        [totals[n][0] for n in names],
        height,
        label="pledged (at least)",
        color="#9db4d0",
    )
    axes.barh(
        [p + height / 2 for p in positions],
        [totals[n][1] for n in names],
        height,
        label="delivered (at least)",
        color="#2f5d8a",
    )
    axes.set_yticks(positions, labels=[name[:32] for name in names])
    axes.invert_yaxis()
    axes.set_xlim(left=0)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("units (an unknown quantity counts as at least 1)")
    axes.legend(
        loc="upper center", bbox_to_anchor=(0.5, -0.3), ncols=2, fontsize="small", frameon=False
    )
    axes.spines[["top", "right"]].set_visible(False)
    figure.suptitle("Outstanding pledges: pledged versus delivered", fontsize="medium")
    summary = "; ".join(f"{n}: {totals[n][0]} pledged, {totals[n][1]} delivered" for n in names)
    return Chart(
        cid="chart-pledged-delivered",
        title="Pledged versus delivered, per system",
        alt=f"Bar chart. {summary}",
        png=_png(figure),
    )


@plain_text
def estimate_history_chart(move, months: int = 24) -> Chart | None:
    """The on-hand range of one holder × system over the stored monthly series."""
    points = estimate_series(move.holder_id, move.system_id, EstimateScope.SYSTEM)[-months:]
    if len(points) < 2:
        return None
    days = [point.as_of for point in points]
    lows = [point.on_hand_low for point in points]
    known = [point.on_hand_high for point in points]
    figure = Figure(figsize=(6.4, 2.6))
    axes = figure.subplots()
    axes.plot(days, lows, color="#2f5d8a", label="on hand, low")
    if any(value is not None for value in known):
        axes.plot(
            days,
            [float("nan") if value is None else value for value in known],
            color="#9db4d0",
            label="on hand, high (gaps: unknown)",
        )
    axes.set_ylim(bottom=0)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.legend(loc="upper left", fontsize="small", frameon=False)
    axes.spines[["top", "right"]].set_visible(False)
    figure.autofmt_xdate()
    figure.suptitle(f"{move.holder}: {move.system}, estimate by month", fontsize="medium")
    return Chart(
        cid="chart-estimate",
        title=f"Estimate over time: {move.holder}, {move.system}",
        alt=f"Line chart of the on-hand estimate of {move.system} held by {move.holder} by month.",
        png=_png(figure),
    )
