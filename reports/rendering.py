"""A report as an email: HTML (Django template, autoescaped, CSS inlined with css-inline),
a plain-text part with the same content, inline charts (PNG, Content-ID) and the
List-Unsubscribe headers.

Record text is untrusted: the HTML part escapes it (Django's autoescape), the text part and
the subject collapse line breaks and control characters so that nothing in a record can
start a new line, a header or a fake link line.
"""

from __future__ import annotations

import logging
import re
import textwrap
import unicodedata
from email.mime.image import MIMEImage
from email.utils import make_msgid

import css_inline
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from core.weblinks import is_web_url
from reports.chains import chains_text
from reports.charts import Chart, estimate_history_chart, pledged_vs_delivered_chart
from reports.periods import period_display
from reports.selectors import Report
from reports.tokens import unsubscribe_url

logger = logging.getLogger(__name__)

SUBJECT_MAX = 150
SECTION_TITLES = {
    "holding": "Holdings and contracts",
    "pledge": "Pledges",
    "transfer": "Transfers (deliveries)",
    "expenditure": "Expenditures",
    "authorization": "Authorizations",
    "policy": "Policies",
}
_inliner = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)


def one_line(text: object, limit: int | None = None) -> str:
    """Text safe for one line of a header or of the plain-text part: every control or
    separator character (CR, LF, tab, U+2028 …) becomes a space, runs of spaces collapse."""
    text = "".join(
        " " if unicodedata.category(ch)[0] in ("C", "Z") else ch for ch in str(text or "")
    )
    text = re.sub(r"\s+", " ", text).strip()
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def report_subject(report: Report) -> str:
    sub = report.subscription
    period = period_display(report.period)
    count = report.changes_total
    subject = f"Stockpile {sub.get_cadence_display().split(' ')[0].lower()} report {period}: "
    subject += f"{count} change{'s' if count != 1 else ''}"
    names = report.changed_system_names[:3]
    if names:
        subject += " (" + ", ".join(names) + ")"
    return one_line(subject, SUBJECT_MAX)


def report_charts(report: Report) -> list[Chart]:
    """The report's charts. A chart that fails to draw is left out (and logged): the report
    goes without it rather than not at all."""
    drawings = [lambda: pledged_vs_delivered_chart(report.outstanding)]
    if report.movers:
        drawings.append(lambda: estimate_history_chart(report.movers[0]))
    charts = []
    for draw in drawings:
        try:
            chart = draw()
        except Exception:
            logger.exception(
                "reports: a chart of subscription %s failed; sent without it",
                report.subscription.pk,
            )
            continue
        if chart is not None:
            charts.append(chart)
    return charts


def report_context(report: Report, charts: list[Chart], *, unsubscribe: str) -> dict:
    return {
        "report": report,
        "subscription": report.subscription,
        "period": period_display(report.period),
        "sections": [(SECTION_TITLES[kind], items) for kind, items in report.change_sections],
        "charts": charts,
        "unsubscribe_url": unsubscribe,
        "site_url": settings.SITE_URL,
    }


def report_html(
    report: Report, charts: list[Chart], *, unsubscribe: str, inline: bool = True
) -> str:
    html = render_to_string(
        "reports/report.html", report_context(report, charts, unsubscribe=unsubscribe)
    )
    return _inliner.inline(html) if inline else html


def _wrap(text: str, indent: str) -> list[str]:
    return textwrap.wrap(
        text, width=78, initial_indent=indent, subsequent_indent=indent + "  "
    ) or [indent]


def report_text(report: Report, charts: list[Chart], *, unsubscribe: str) -> str:
    sub = report.subscription
    lines = [
        f"Stockpile {sub.cadence} report, {period_display(report.period)}",
        "",
    ]
    scope = []
    if report.countries:
        scope.append("parties: " + ", ".join(one_line(c) for c in report.countries))
    if report.systems:
        scope.append(
            "systems: " + ", ".join(one_line(s) for s in report.systems) + " (with variants)"
        )
    if sub.has_grade_filter:
        scope.append(f"graded {sub.min_grade} or better")
    lines += _wrap("Your filters: " + ("; ".join(scope) if scope else "none (everything)"), "")
    lines.append("")
    lines.append(f"== What changed ({report.changes_total}) ==")
    if not report.change_sections:
        lines.append("Nothing changed in this period.")
    for title, items in report_context(report, charts, unsubscribe=unsubscribe)["sections"]:
        lines += ["", f"-- {title} --"]
        for item in items:
            head = f"* [{item.change}] {one_line(item.label)}"
            lines += _wrap(head, "")
            facts = [item.date]
            if item.detail:
                facts.append(one_line(item.detail))
            lines += _wrap("; ".join(facts), "  ")
            for label, old, new in item.fields:
                lines += _wrap(
                    f"{one_line(label)}: {one_line(old, 80)} -> {one_line(new, 80)}", "  "
                )
            if item.notes:
                lines += _wrap("Notes: " + one_line(item.notes, 300), "  ")
            if item.citations:
                for cite in item.citations:
                    source = one_line(cite.title, 120)
                    if cite.publisher:
                        source += f" ({one_line(cite.publisher, 60)})"
                    lines += _wrap(f"Source [{cite.grade}, {cite.stance.lower()}]: {source}", "  ")
                    if is_web_url(cite.url):
                        lines.append("    " + one_line(cite.url))
                    if cite.excerpt:
                        lines += _wrap(f'"{one_line(cite.excerpt, 300)}"', "    ")
            elif item.change != "removed":
                lines.append("  UNSOURCED")
            if item.admin_url:
                lines.append("  " + item.admin_url)
    lines += ["", f"== Pledges still outstanding ({report.outstanding_total}) =="]
    if not report.outstanding:
        lines.append("None.")
    for pledge in report.outstanding:
        age = f"{pledge.age_days} days" if pledge.age_days is not None else "age unknown"
        lines += _wrap(
            f"* {one_line(pledge.label)} - {pledge.status.lower()} since {pledge.date} ({age}); "
            f"delivered {pledge.delivered.display()} of {pledge.pledged.display()}",
            "",
        )
    if report.outstanding_total > len(report.outstanding):
        lines.append(f"  … and {report.outstanding_total - len(report.outstanding)} more.")
    if report.chains is not None:  # issue 17: its own section
        lines += chains_text(report.chains, _wrap, one_line)
    lines += ["", "== Estimates that moved most (on hand) =="]
    if not report.movers:
        lines.append("No estimate moved.")
    for move in report.movers:
        lines += _wrap(
            f"* {one_line(move.holder)}, {one_line(move.system)}: {move.old_display} -> {move.new_display}",
            "",
        )
    if report.conflicts_total:
        lines += ["", f"== New conflicts ({report.conflicts_total}) =="]
        for line in report.conflicts:
            lines += _wrap(f"* {one_line(line.label)}: {one_line(line.datasets)}", "")
            lines.append("  " + line.admin_url)
        if report.conflicts_total > len(report.conflicts):
            lines.append(f"  … and {report.conflicts_total - len(report.conflicts)} more.")
    lines += ["", f"== Records still unsourced ({report.unsourced_total}) =="]
    if not report.unsourced:
        lines.append("None: every record in your scope cites a source.")
    for line in report.unsourced:
        lines += _wrap(f"* {line.kind}: {one_line(line.label)}", "")
        lines.append("  " + line.admin_url)
    if report.unsourced_total > len(report.unsourced):
        lines.append(f"  … and {report.unsourced_total - len(report.unsourced)} more.")
    for chart in charts:
        lines += ["", f"[Chart: {chart.title}] {one_line(chart.alt, 600)}"]
    lines += [
        "",
        "-- ",
        "You get this because you subscribed to Stockpile reports.",
        f"Unsubscribe (one click, no login): {unsubscribe}",
        "",
    ]
    return "\n".join(lines)


def report_message(
    report: Report, *, recipient: str, message_id: str | None = None
) -> EmailMultiAlternatives:
    """The email of a report, ready to send: multipart/related (the alternative text and
    HTML parts, then the charts the HTML shows by Content-ID)."""
    unsubscribe = unsubscribe_url(report.subscription)
    charts = report_charts(report)
    message = EmailMultiAlternatives(
        subject=report_subject(report),
        body=report_text(report, charts, unsubscribe=unsubscribe),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient],
        headers={
            "Message-ID": message_id or new_message_id(),
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(report_html(report, charts, unsubscribe=unsubscribe), "text/html")
    if charts:
        message.mixed_subtype = "related"
        for chart in charts:
            image = MIMEImage(chart.png, "png")
            image.add_header("Content-ID", f"<{chart.cid}>")
            image.add_header("Content-Disposition", "inline", filename=f"{chart.cid}.png")
            message.attach(image)
    return message


def new_message_id() -> str:
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip("> ") or "stockpile.local"
    return make_msgid(idstring="report", domain=domain)


PREVIEW_UNSUBSCRIBE = "#the-unsubscribe-link-is-in-the-mailed-report"


def report_preview_html(report: Report) -> str:
    """The HTML part for the admin preview, charts embedded as data: URLs."""
    import base64

    charts = report_charts(report)
    # Not the subscriber's real link: whoever looks at the preview must not be able to
    # unsubscribe them with it.
    html = report_html(report, charts, unsubscribe=PREVIEW_UNSUBSCRIBE)
    for chart in charts:
        data = "data:image/png;base64," + base64.b64encode(chart.png).decode("ascii")
        html = html.replace(f'src="cid:{chart.cid}"', f'src="{data}"')
    return html
