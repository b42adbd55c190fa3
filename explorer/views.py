"""The explorer's pages: read-only, server-rendered, the same for every reader.

Each view reads its page from `explorer.selectors` and renders it as HTML, or, with
`?format=csv` (one table, `&table=<name>`) or `?format=json` (every table), as a download
with the datasets' attribution. Unknown query parameters are refused with a 400 naming
them, as everywhere in Stockpile."""

from __future__ import annotations

import csv
import datetime as dt
import io
from urllib.parse import urlencode

import orjson
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_safe

from core.history import known_at_parse
from core.spreadsheets import formula_safe
from explorer import selectors
from explorer.access import explorer_view
from explorer.charts import band_rows_html, band_svg, bar_rows_html, bars_svg
from inventory.models import Country, WeaponSystem, WeaponSystemAlias, normalize_alias
from stock.choices import EstimateScope
from transfers.models import Source

FORMATS = ("html", "csv", "json")


def _refusal(message: str) -> HttpResponse:
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


def _check_params(request, allowed: set[str]) -> str:
    """The refusal for parameters this page does not know or values it cannot read."""
    unknown = sorted(set(request.GET) - allowed - {"format", "table"})
    if unknown:
        return f"Unknown query parameter(s): {', '.join(unknown)} (this page takes: " + (
            ", ".join(sorted(allowed | {"format", "table"})) + ")."
        )
    fmt = request.GET.get("format", "html")
    if fmt not in FORMATS:
        return f"format={fmt!r}: use html, csv or json."
    return ""


KNOWN_AT_TABLES = {"estimates", "received", "losses", "deliveries", "rows"}


def known_at_param(request, name: str = "known_at") -> tuple[dt.datetime | None, str]:
    """`?known_at=` (or `since`, `until`): an ISO date-time (with or without a zone: UTC when
    none) or a date (the end of that day, UTC), read by `core.history.known_at_parse`.
    Returns the moment, or the refusal naming the parameter and the value."""
    raw = request.GET.get(name)
    if raw is None:
        return None, ""
    try:
        return known_at_parse(raw), ""
    except ValueError as exc:
        return None, f"{name}={exc}"


def page_param(request, name: str = "page") -> tuple[int | None, str]:
    """`?page=` (or `?<table>_page=`) of a page with a long table: its number (1 when
    absent) for the HTML page; None for the downloads, which carry every row. Returns the
    refusal of a bad value."""
    raw = request.GET.get(name)
    if request.GET.get("format", "html") != "html":
        return None, ""
    if raw is None:
        return 1, ""
    if not raw.isdigit() or int(raw) < 1:
        return None, f"{name}={raw!r}: a page number, 1 or more."
    return int(raw), ""


# Long tables paged here, after they are built (the main table of a page, a party's
# estimates or a system's holders, is paged in its query by `page`): `<name>_page`.
SLICED_TABLES = {"party": {"received"}, "system": {"flows"}}


def sliced_params(view: str) -> set[str]:
    return {f"{name}_page" for name in SLICED_TABLES.get(view, ())}


def _slice(request, page: dict, view: str) -> str:
    """Keep one page of each long table that this view pages after building it; returns
    the refusal of a bad page number."""
    for table in page["tables"]:
        if table.name not in SLICED_TABLES.get(view, ()):
            continue
        table.page_param = f"{table.name}_page"
        number, bad = page_param(request, table.page_param)
        if bad:
            return bad
        size = selectors.PAGE_SIZE
        table.total, table.first = len(table.rows), (number - 1) * size
        table.rows = table.rows[table.first : table.first + size]
    return ""


def _pagers(request, page: dict) -> None:
    """Links to the other pages of each paged table that has more rows than it shows; a
    page number past the last is a 404."""
    for table in page["tables"]:
        if table.total is None:
            continue
        if table.first and table.first >= table.total:
            raise Http404(f"No page {request.GET.get(table.page_param)} of this table.")
        if table.total <= len(table.rows):
            continue
        size = selectors.PAGE_SIZE
        number = table.first // size + 1
        last = (table.total + size - 1) // size
        kept = request.GET.copy()

        def link(n: int, table=table, kept=kept) -> str:
            kept[table.page_param] = str(n)
            return f"?{kept.urlencode()}#table-{table.name}"

        table.pager = {
            "first_row": table.first + 1,
            "last_row": table.first + len(table.rows),
            "total": table.total,
            "number": number,
            "last": last,
            "previous_url": link(number - 1) if number > 1 else "",
            "next_url": link(number + 1) if number < last else "",
            "first_url": link(1) if number > 2 else "",
            "last_url": link(last) if number < last - 1 else "",
        }


def _as_known_at(page: dict, raw: str) -> None:
    """Links from a page as known at a moment stay at that moment; tables built from the
    records (not the ledger) say that they are today's."""
    page["known_at"] = raw
    moment = urlencode({"known_at": raw})
    for table in page["tables"]:
        if table.name not in KNOWN_AT_TABLES:
            table.caption += " (the records as they are now)"
        for row in table.rows:
            for key in ("explain_url", "flow_url"):
                found = row.get(key)
                if found:
                    row[key] = f"{found}{'&' if '?' in found else '?'}{moment}"


def _respond(
    request, page: dict, template: str = "explorer/page.html", *, view: str = ""
) -> HttpResponse:
    fmt = request.GET.get("format", "html")
    if request.GET.get("known_at"):
        _as_known_at(page, request.GET["known_at"])
    tables = page["tables"]
    if fmt == "json":
        body = {
            "title": page["title"],
            "url": request.build_absolute_uri(request.path),
            "attribution": selectors.ATTRIBUTION,
            "tables": {t.name: {"caption": t.caption, "rows": t.export_rows()} for t in tables},
        }
        if page.get("known_at"):
            body["known_at"] = page["known_at"]
        if page.get("estimate") is not None:
            body["estimate"] = {k: v for k, v in page["estimate"].items() if not k.endswith("_url")}
        response = HttpResponse(
            orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS), content_type="application/json"
        )
        return response
    if fmt == "csv":
        name = request.GET.get("table", tables[0].name)
        table = next((t for t in tables if t.name == name), None)
        if table is None:
            return _refusal(
                f"table={name!r}: this page's tables are {', '.join(t.name for t in tables)}."
            )
        out = io.StringIO()
        out.write(f"# {selectors.ATTRIBUTION}\n")
        writer = csv.writer(out)
        writer.writerow([c.label for c in table.columns])
        for row in table.export_rows():
            writer.writerow([formula_safe("" if v is None else v) for v in row.values()])
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{table.name}.csv"'
        return response
    if request.GET.get("table"):
        return _refusal("table= goes with format=csv.")
    refusal = _slice(request, page, view)
    if refusal:
        return _refusal(refusal)
    _pagers(request, page)
    charts = [
        {
            "svg": band_svg(chart, f"chart-{i}"),
            "rows": band_rows_html(chart),
            "chart": chart,
            "id": f"chart-{i}",
        }
        for i, chart in enumerate(page.get("charts") or [])
    ]
    bars = page.get("bars")
    context = {
        **page,
        "band_charts": charts,
        "bar_chart": bars_svg(bars, "bars") if bars and bars["bars"] else "",
        "bar_rows": bar_rows_html(bars) if bars and bars["bars"] else "",
        "attribution": selectors.ATTRIBUTION,
        "keep": _kept(request),
    }
    return render(request, template, context)


def _kept(request) -> str:
    """The page's own parameters, for its download links."""
    kept = request.GET.copy()
    kept.pop("format", None)
    kept.pop("table", None)
    for name in [n for n in kept if n == "page" or n.endswith("_page")]:
        kept.pop(name)  # the downloads carry every row
    return kept.urlencode()


@require_safe
@explorer_view
def index(request):
    return search(request)


@require_safe
@explorer_view
def search(request):
    refusal = _check_params(request, {"q"})
    if refusal:
        return _refusal(refusal)
    return _respond(request, selectors.search(request.GET.get("q", "")[:200]))


@require_safe
@explorer_view
def party(request, code: str):
    refusal = _check_params(request, {"known_at", "page", *sliced_params("party")})
    known_at, bad = known_at_param(request)
    number, bad_page = page_param(request)
    if refusal or bad or bad_page:
        return _refusal(refusal or bad or bad_page)
    found = get_object_or_404(Country, code=code.upper())
    if found.code != code:
        return redirect("explorer:party", found.code)
    page = selectors.party_page(found, known_at=known_at, page=number)
    return _respond(request, page, view="party")


@require_safe
@explorer_view
def party_changes(request, code: str):
    """What changed in what we know about a party between `since` and `until` (default:
    now), both moments of transaction time."""
    refusal = _check_params(request, {"since", "until"})
    since, bad_since = known_at_param(request, "since")
    until, bad_until = known_at_param(request, "until")
    if refusal or bad_since or bad_until:
        return _refusal(refusal or bad_since or bad_until)
    if since is None:
        return _refusal("since= is required: the earlier moment, 2024-03-01 or a date-time.")
    if until is not None and until < since:
        return _refusal(f"until={request.GET['until']!r} is before since={request.GET['since']!r}.")
    found = get_object_or_404(Country, code=code.upper())
    if found.code != code:
        return redirect(f"{reverse('explorer:party-changes', args=[found.code])}?{_kept(request)}")
    page = selectors.party_changes_page(found, since, until)
    return _respond(request, page, "explorer/changes.html")


@require_safe
@explorer_view
def system(request, pk: int):
    refusal = _check_params(request, {"page", *sliced_params("system")})
    number, bad_page = page_param(request)
    if refusal or bad_page:
        return _refusal(refusal or bad_page)
    found = get_object_or_404(WeaponSystem.objects.select_related("parent", "origin"), pk=pk)
    return _respond(request, selectors.system_page(found, page=number), view="system")


@require_safe
@explorer_view
def system_by_name(request, name: str):
    """/explore/systems/atacms/: the system with this name or alias, at its numbered URL."""
    key = normalize_alias(name.replace("-", " "))
    alias = WeaponSystemAlias.objects.filter(alias_normalized=key).values("system_id").first()
    if alias is not None:
        return redirect("explorer:system", alias["system_id"])
    for pk, system_name in WeaponSystem.objects.filter(
        name__iexact=name.replace("-", " ")
    ).values_list("pk", "name"):
        if normalize_alias(system_name) == key:
            return redirect("explorer:system", pk)
    raise Http404(f"No weapon system is called {name!r}.")


@require_safe
@explorer_view
def flow(request, donor: str, recipient: str):
    refusal = _check_params(request, {"known_at"})
    known_at, bad = known_at_param(request)
    if refusal or bad:
        return _refusal(refusal or bad)
    parties = {c.code: c for c in Country.objects.filter(code__in=[donor, recipient])}
    if donor not in parties or recipient not in parties:
        raise Http404("No such party.")
    page = selectors.flow_page(parties[donor], parties[recipient], known_at=known_at)
    return _respond(request, page)


@require_safe
@explorer_view
def source(request, pk: int):
    refusal = _check_params(request, set())
    if refusal:
        return _refusal(refusal)
    found = get_object_or_404(Source, pk=pk)
    return _respond(request, selectors.source_page(found), "explorer/source.html")


@require_safe
@explorer_view
def explain(request, code: str, system_id: int):
    refusal = _check_params(request, {"scope", "known_at"})
    known_at, bad = known_at_param(request)
    if refusal or bad:
        return _refusal(refusal or bad)
    scope = request.GET.get("scope", EstimateScope.SYSTEM)
    if scope not in EstimateScope.values:
        return _refusal(f"scope={scope!r}: use system or family.")
    holder = get_object_or_404(Country, code=code)
    found = get_object_or_404(WeaponSystem, pk=system_id)
    page = selectors.explanation_page(holder, found, scope, known_at=known_at)
    return _respond(request, page, "explorer/explain.html")
