"""Entry at the speed of reading: one news story, its source named once, several claims from
it, each with its own excerpt and grade (admin page `transfers/story/`).

A claim row names its kind (a transfer, a pledge with its status, a holding with its kind,
an expenditure, an authorization), who from and who to, the system, the quantity's wording
and the date as the story gives them. Several parties in "to" ("KR, TW, RO, PL, AE") make
one record each: contracts for five buyers in one row. Parties and systems are typed as
people write them (codes, names, aliases) and resolved as the API resolves them. Every
record is created through `transfers.services.record_create`, all in one transaction: one
bad row writes nothing, and its error names the field and the value.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from core.admin_access import requires
from core.choices import DatePrecision
from core.forms import OneErrorPerFieldMixin, PartialDateField
from inventory.choices import Credibility, Reliability
from inventory.models import Country, WeaponSystem
from inventory.selectors import country_resolve, weapon_system_resolve
from transfers.choices import (
    Attribution,
    AuthorizationKind,
    ExpenditureKind,
    HoldingKind,
    PledgeStatus,
    SourceType,
)
from transfers.ledger import ledger_posted_once
from transfers.models import Authorization, Citation, Expenditure, Holding, Pledge, Source, Transfer
from transfers.selectors import record_warnings
from transfers.services import record_create, source_get_or_create

# kind value -> (model, the field the part after ":" sets)
KINDS = {
    "transfer": (Transfer, None),
    **{f"pledge:{v}": (Pledge, "status") for v in PledgeStatus.values},
    **{f"holding:{v}": (Holding, "kind") for v in HoldingKind.values},
    **{f"expenditure:{v}": (Expenditure, "kind") for v in ExpenditureKind.values},
    **{f"authorization:{v}": (Authorization, "kind") for v in AuthorizationKind.values},
}
KIND_CHOICES = [
    ("", "—"),
    ("transfer", "Transfer (delivered)"),
    ("Pledge", [(f"pledge:{v}", f"Pledge: {label}") for v, label in PledgeStatus.choices]),
    ("Holding", [(f"holding:{v}", f"Holding: {label}") for v, label in HoldingKind.choices]),
    (
        "Expenditure",
        [(f"expenditure:{v}", f"Expenditure: {label}") for v, label in ExpenditureKind.choices],
    ),
    (
        "Authorization",
        [
            (f"authorization:{v}", f"Authorization: {label}")
            for v, label in AuthorizationKind.choices
        ],
    ),
]
# Which record field "from" and "to" fill, per model; "details" is the scope of an
# authorization, the place of an expenditure, the notes of the others.
FROM_FIELD = {Transfer: "donor", Pledge: "donor", Holding: "supplier", Authorization: "grantor"}
TO_FIELD = {
    Transfer: "recipient",
    Pledge: "recipient",
    Holding: "holder",
    Expenditure: "holder",
    Authorization: "holder",
}
DETAILS_FIELD = {Authorization: "scope", Expenditure: "location"}
# A record field's error is shown on the row's field that set it.
ROW_FIELD = {
    "donor": "from_party",
    "supplier": "from_party",
    "grantor": "from_party",
    "recipient": "to_parties",
    "holder": "to_parties",
    "system": "system",
    "quantity_text": "quantity",
    "quantity_low": "quantity",
    "quantity_high": "quantity",
    "date": "date",
    "date_precision": "date",
    "scope": "details",
    "location": "details",
    "notes": "details",
}


def _party(text: str) -> Country:
    party = country_resolve(text)
    if party is None:
        raise ValidationError(
            f"No party is known as {text!r} (type a code, a name or an alias: GB, UK, "
            f"United Kingdom)."
        )
    return party


class StorySourceForm(OneErrorPerFieldMixin, forms.Form):
    """The source of the story: an existing one, or the fields of a new one (a URL that is
    already a source uses that source)."""

    source = forms.ModelChoiceField(
        queryset=Source.objects.all(),
        required=False,
        label="An existing source",
        widget=AutocompleteSelect(Citation._meta.get_field("source"), admin.site),
    )
    url = forms.URLField(label="or a new one: URL", required=False, assume_scheme="https")
    title = forms.CharField(required=False, max_length=500)
    publisher = forms.CharField(required=False, max_length=200)
    published_on = PartialDateField(required=False, label="published")
    source_type = forms.ChoiceField(choices=SourceType.choices, initial=SourceType.NEWS)
    reliability = forms.ChoiceField(
        choices=Reliability.choices, initial=Reliability.F, label="reliability (A–F)"
    )

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("source") and not cleaned.get("url") and not cleaned.get("title"):
            raise ValidationError("Name the story's source: pick an existing one or give a title.")
        return cleaned

    def source_for(self, actor) -> tuple[Source, bool]:
        data = self.cleaned_data
        if data.get("source"):
            return data["source"], False
        published = data.get("published_on")
        fields = {
            "title": data.get("title", ""),
            "publisher": data.get("publisher", ""),
            "source_type": data["source_type"],
            "reliability": data["reliability"],
        }
        if published is not None:
            fields["published_on"] = published.value
            fields["published_precision"] = published.precision
        return source_get_or_create(url=data.get("url", ""), actor=actor, **fields)


class ClaimForm(OneErrorPerFieldMixin, forms.Form):
    """One claim of the story; several "to" parties make one record each."""

    kind = forms.ChoiceField(choices=KIND_CHOICES, required=False)
    from_party = forms.CharField(
        required=False, label="from", widget=forms.TextInput(attrs={"list": "story-parties"})
    )
    to_parties = forms.CharField(
        required=False,
        label="to / holder",
        widget=forms.TextInput(attrs={"list": "story-parties"}),
    )
    system = forms.CharField(
        required=False, widget=forms.TextInput(attrs={"list": "story-systems", "size": 14})
    )
    quantity = forms.CharField(required=False, widget=forms.TextInput(attrs={"size": 10}))
    date = PartialDateField(required=False)
    details = forms.CharField(required=False, label="scope / place / notes")
    excerpt = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 28}))
    attribution = forms.ChoiceField(choices=Attribution.choices, initial=Attribution.UNSTATED)
    credibility = forms.TypedChoiceField(
        choices=Credibility.choices, coerce=int, initial=Credibility.UNJUDGED
    )

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return not any(
            data.get(name) for name in ("kind", "from_party", "to_parties", "system", "excerpt")
        )

    def clean(self):
        cleaned = super().clean()
        if self.is_blank():
            return cleaned
        kind = cleaned.get("kind")
        if not kind:
            self.add_error("kind", "Choose what this claim is (a transfer, a pledge, …).")
            return cleaned
        model, _ = KINDS[kind]
        if cleaned.get("from_party") and model not in FROM_FIELD:
            self.add_error(
                "from_party", f"A {model._meta.verbose_name} has no “from” party; leave it empty."
            )
        elif cleaned.get("from_party"):
            try:
                cleaned["from_obj"] = _party(cleaned["from_party"])
            except ValidationError as exc:
                self.add_error("from_party", exc)
        elif model in (Transfer, Authorization):
            self.add_error("from_party", f"A {model._meta.verbose_name} needs a “from” party.")
        if model is Authorization and cleaned.get("quantity"):
            self.add_error("quantity", "An authorization has no quantity; leave it empty.")
        names = [name.strip() for name in (cleaned.get("to_parties") or "").split(",")]
        names = [name for name in names if name]
        if not names:
            self.add_error("to_parties", "Name the recipient or holder (several: KR, TW, PL).")
        else:
            try:
                cleaned["to_objs"] = [_party(name) for name in names]
            except ValidationError as exc:
                self.add_error("to_parties", exc)
        system_text = cleaned.get("system", "")
        system = weapon_system_resolve(system_text) if system_text else None
        if system is None:
            self.add_error(
                "system",
                f"No weapon system is known as {system_text!r} (a name or an alias: ATACMS, "
                "MGM-140)."
                if system_text
                else "Name the weapon system.",
            )
        cleaned["system_obj"] = system
        return cleaned

    def records(self) -> list[tuple[type, dict]]:
        """(model, fields) of each record this row makes."""
        data = self.cleaned_data
        model, sub_field = KINDS[data["kind"]]
        base: dict = {"system": data["system_obj"], "quantity_text": data.get("quantity", "")}
        if sub_field:
            base[sub_field] = data["kind"].split(":", 1)[1]
        if model in FROM_FIELD:
            base[FROM_FIELD[model]] = data.get("from_obj")
        if data.get("date") is not None:
            base["date"], base["date_precision"] = data["date"]
        else:
            base["date"], base["date_precision"] = None, DatePrecision.UNKNOWN
        base[DETAILS_FIELD.get(model, "notes")] = data.get("details", "")
        if model is Authorization:
            base.pop("quantity_text")
        return [(model, {**base, TO_FIELD[model]: party}) for party in data["to_objs"]]

    def citation(self, source: Source) -> dict:
        data = self.cleaned_data
        return {
            "source": source,
            "excerpt": data.get("excerpt", ""),
            "attribution": data["attribution"],
            "credibility": data["credibility"],
        }


ClaimFormSet = forms.formset_factory(ClaimForm, extra=8, max_num=50)


class _Abort(Exception):
    pass


def _may_add(user, model) -> bool:
    return user.has_perm(f"{model._meta.app_label}.add_{model._meta.model_name}")


@requires("transfers.add_citation", "transfers.add_transfer")
def story_view(request):
    """Enter a story: the source once, then its claims (each record type's own add
    permission is checked again when its claim is saved)."""
    if request.method == "POST":
        source_form = StorySourceForm(request.POST, prefix="source")
        claims = ClaimFormSet(request.POST, prefix="claims")
        if source_form.is_valid() and claims.is_valid():
            rows = [form for form in claims.forms if not form.is_blank()]
            if not rows:
                source_form.add_error(None, "Add at least one claim.")
            else:
                created = _create(request, source_form, rows)
                if created is not None:
                    return _done(request, created)
    else:
        source_form = StorySourceForm(prefix="source")
        claims = ClaimFormSet(prefix="claims")
    context = {
        **admin.site.each_context(request),
        "title": "Enter a story",
        "source_form": source_form,
        "claims": claims,
        "media": source_form.media + forms.Media(js=["admin/js/jquery.init.js"]),
        "parties": Country.objects.order_by("name").values_list("name", flat=True),
        "systems": WeaponSystem.objects.order_by("name").values_list("name", flat=True),
    }
    return TemplateResponse(request, "admin/transfers/story.html", context)


def _create(request, source_form, rows) -> list | None:
    """Create the source and every record, or nothing (errors go onto the rows)."""
    created = []
    try:
        with ledger_posted_once():  # the whole story: one ledger post
            try:
                source, _ = source_form.source_for(request.user)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    name = field if field in source_form.fields else None
                    for error in errors:
                        source_form.add_error(name, error)
                raise _Abort from exc
            failed = False
            for form in rows:
                for model, fields in form.records():
                    if not _may_add(request.user, model):
                        form.add_error(
                            "kind", f"You may not add {model._meta.verbose_name_plural}."
                        )
                        failed = True
                        continue
                    try:
                        record = record_create(
                            model=model,
                            actor=request.user,
                            citations=[form.citation(source)],
                            **fields,
                        )
                    except ValidationError as exc:
                        failed = True
                        for field, errors in exc.message_dict.items():
                            for error in errors:
                                form.add_error(ROW_FIELD.get(field), error)
                        continue
                    created.append(record)
            if failed:
                raise _Abort
    except _Abort:
        return None
    return created


def _done(request, created):
    links = format_html_join(
        ", ",
        '<a href="{}">{}</a>',
        (
            (reverse(f"admin:transfers_{r._meta.model_name}_change", args=[r.pk]), str(r))
            for r in created
        ),
    )
    messages.success(
        request, format_html("The story is entered: {} record(s): {}.", len(created), links)
    )
    for record in created:
        for warning in record_warnings(record):
            messages.warning(request, warning)
    return HttpResponseRedirect(reverse("admin:transfers_story"))


def _install() -> None:
    site = admin.site
    original_get_urls = site.get_urls

    def get_urls():
        return [
            path("transfers/story/", site.admin_view(story_view), name="transfers_story"),
            *original_get_urls(),
        ]

    site.get_urls = get_urls


_install()
