"""Entering records in the admin quickly and safely: month and year dates typed as they are
read, a confirmation before saving without a source, "Save and add another" keeping what a
story repeats, "Save as new", duplicate source URLs answered with the existing source, and a
warning for a party that did not exist on the record's date."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from inventory.models import Country
from tests.factories import WeaponSystemFactory
from transfers.models import Source, Transfer
from transfers.services import source_create

pytestmark = pytest.mark.django_db

ADD = reverse("admin:transfers_transfer_add")


def _management(total=0, initial=0):
    return {
        "citations-TOTAL_FORMS": str(total),
        "citations-INITIAL_FORMS": str(initial),
        "citations-MIN_NUM_FORMS": "0",
        "citations-MAX_NUM_FORMS": "1000",
        "roles-TOTAL_FORMS": "0",
        "roles-INITIAL_FORMS": "0",
        "roles-MIN_NUM_FORMS": "0",
        "roles-MAX_NUM_FORMS": "1000",
    }


@pytest.fixture
def story(db):
    source = source_create(
        url="https://news.example.org/atacms", title="More ATACMS for Ukraine", reliability="B"
    )
    return {
        "gb": Country.objects.get(code="GB"),
        "ua": Country.objects.get(code="UA"),
        "storm": WeaponSystemFactory(name="Storm Shadow"),
        "source": source,
    }


def _transfer(story, *, date="2024-11", precision="day", cited=True, **extra):
    data = {
        "donor": story["gb"].pk,
        "recipient": story["ua"].pk,
        "system": story["storm"].pk,
        "basis": "unknown",
        "condition": "unknown",
        "quantity_text": "dozens",
        "date": date,
        "date_precision": precision,
        "notes": "",
        **_management(total=1 if cited else 0),
    }
    if cited:
        data.update(
            {
                "citations-0-source": story["source"].pk,
                "citations-0-excerpt": "sent dozens more",
                "citations-0-locator": "",
                "citations-0-stance": "supports",
                "citations-0-attribution": "anonymous",
                "citations-0-reliability": "",
                "citations-0-credibility": "3",
            }
        )
    data.update(extra)
    return data


@pytest.mark.parametrize(
    ("typed", "precision", "stored", "stored_precision", "shown"),
    [
        ("2024-11", "day", dt.date(2024, 11, 1), "month", "Nov 2024"),
        ("2024-11", "month", dt.date(2024, 11, 1), "month", "Nov 2024"),
        ("Nov 2024", "day", dt.date(2024, 11, 1), "month", "Nov 2024"),
        ("2024", "day", dt.date(2024, 1, 1), "year", "2024"),
        ("2024-11-27", "month", dt.date(2024, 11, 1), "month", "Nov 2024"),
        ("2024-11-27", "day", dt.date(2024, 11, 27), "day", "2024-11-27"),
    ],
)
def test_dates_are_typed_at_their_precision_and_shown_at_it(
    editor_client, story, typed, precision, stored, stored_precision, shown
):
    response = editor_client.post(ADD, _transfer(story, date=typed, precision=precision))
    assert response.status_code == 302, response.content.decode()[:3000]
    transfer = Transfer.objects.get()
    assert (transfer.date, transfer.date_precision) == (stored, stored_precision)
    listing = editor_client.get(reverse("admin:transfers_transfer_changelist")).content.decode()
    assert f'<td class="field-when">{shown}</td>' in listing
    form = editor_client.get(reverse("admin:transfers_transfer_change", args=[transfer.pk]))
    typed_back = {"month": stored.strftime("%Y-%m"), "year": stored.strftime("%Y")}
    assert (
        f'value="{typed_back.get(stored_precision, stored.isoformat())}"' in form.content.decode()
    )


def test_a_wrong_date_gets_one_error_naming_the_value_and_nothing_is_written(editor_client, story):
    response = editor_client.post(ADD, _transfer(story, date="2024-13", precision="month"))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["date"] == [
        "Enter a date as 2024-11-05, 2024-11 (a month) or 2024 (a year), not '2024-13'."
    ]
    assert "A date is required" not in response.content.decode()
    assert not Transfer.objects.exists()


def test_saving_without_a_citation_asks_first_and_then_flags_the_record(editor_client, story):
    response = editor_client.post(ADD, _transfer(story, cited=False))
    assert response.status_code == 200
    assert "cites no source" in str(response.context["adminform"].form.errors)
    assert not Transfer.objects.exists()

    response = editor_client.post(ADD, _transfer(story, cited=False, save_without_source="on"))
    assert response.status_code == 302
    assert Transfer.objects.count() == 1
    page = editor_client.get(response["Location"]).content.decode()
    assert "saved without a source: it is listed as UNSOURCED" in page
    unsourced = editor_client.get(
        reverse("admin:transfers_transfer_changelist"), {"sourced": "no"}
    ).context["cl"]
    assert [t.pk for t in unsourced.result_list] == [Transfer.objects.get().pk]


def test_save_and_add_another_keeps_what_the_story_repeats(editor_client, story):
    response = editor_client.post(ADD, _transfer(story, _addanother="1"))
    assert response.status_code == 302
    page = editor_client.get(response["Location"])
    form = page.context["adminform"].form
    assert form.initial["system"] == str(story["storm"].pk)
    assert form.initial["donor"] == str(story["gb"].pk)
    assert form.initial["date"] == "2024-11"
    assert "recipient" not in form.initial  # what changes from one claim to the next
    citations = next(
        inline.formset
        for inline in page.context["inline_admin_formsets"]
        if inline.formset.prefix == "citations"
    )
    citation_form = citations.forms[0]
    assert citation_form.initial["source"] == str(story["source"].pk)
    assert citation_form.initial["attribution"] == "anonymous"

    # The next record saves with the kept source even when nothing else is typed into it.
    kept = {
        key: value
        for key, value in _transfer(story, recipient=Country.objects.get(code="PL").pk).items()
        if key not in ("citations-0-excerpt",)
    }
    assert editor_client.post(ADD, kept).status_code == 302
    assert Transfer.objects.get(recipient__code="PL").citations.get().source == story["source"]


def test_save_as_new_copies_the_record_with_its_changes(editor_client, story):
    editor_client.post(ADD, _transfer(story))
    original = Transfer.objects.get()
    citation = original.citations.get()
    data = _transfer(story, recipient=Country.objects.get(code="PL").pk, _saveasnew="1")
    data.update({**_management(total=1, initial=1), "citations-0-id": citation.pk})
    data["citations-0-transfer"] = original.pk
    response = editor_client.post(
        reverse("admin:transfers_transfer_change", args=[original.pk]), data
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Transfer.objects.count() == 2
    assert Transfer.objects.get(pk=original.pk).recipient.code == "UA"
    copy = Transfer.objects.exclude(pk=original.pk).get()
    assert copy.recipient.code == "PL"
    assert copy.citations.get().source == story["source"]


def test_a_duplicate_source_url_links_the_existing_source_and_offers_to_use_it(
    editor_client, story
):
    add = reverse("admin:transfers_source_add")
    data = {
        "url": "http://www.news.example.org/atacms/?utm_source=x",
        "title": "Same story",
        "source_type": "news",
        "reliability": "C",
        "published_precision": "",
    }
    response = editor_client.post(add, data)
    existing = story["source"]
    change = reverse("admin:transfers_source_change", args=[existing.pk])
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["url"]
    assert len(errors) == 1
    assert f"<a href='{change}' class='use-existing-source'>More ATACMS for Ukraine</a>" in (
        response.content.decode()
    )

    # In the citation's "+" popup: a link that picks the existing source.
    popup = editor_client.post(
        add + "?_to_field=id&_popup=1", {**data, "_popup": "1", "_to_field": "id"}
    )
    use = reverse("admin:transfers_source_use", args=[existing.pk]) + "?_to_field=id&amp;_popup=1"
    assert use in popup.content.decode()
    picked = editor_client.get(use.replace("&amp;", "&"))
    assert picked.status_code == 200
    assert f'"value": "{existing.pk}"' in picked.context["popup_response_data"]
    assert Source.objects.count() == 1


def test_a_source_is_published_on_a_date_at_its_precision_without_an_invented_time(
    editor_client, story, api_client_for, editor
):
    response = editor_client.post(
        reverse("admin:transfers_source_add"),
        {
            "url": "https://news.example.org/storm-shadow",
            "title": "Storm Shadow",
            "source_type": "news",
            "reliability": "B",
            "published_on": "2024-11",
            "published_precision": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    source = Source.objects.get(title="Storm Shadow")
    assert (source.published_on, source.published_precision) == (dt.date(2024, 11, 1), "month")
    assert source.published_at is None
    listing = editor_client.get(reverse("admin:transfers_source_changelist")).content.decode()
    assert '<td class="field-published">Nov 2024</td>' in listing
    body = api_client_for(editor).get(f"/api/v1/sources/{source.pk}/").json()
    assert body["published_on"] == "2024-11-01"
    assert body["published_precision"] == "month"
    assert body["published_at"] is None


def test_a_party_that_no_longer_existed_on_the_date_is_a_warning(editor_client, story):
    data = _transfer(story, donor=Country.objects.get(code="DDR").pk)
    response = editor_client.post(ADD, data, follow=True)
    assert Transfer.objects.get().donor.code == "DDR"  # saved: a warning, not a refusal
    shown = [str(m) for m in response.context["messages"]]
    assert any("East Germany, did not exist on Nov 2024" in m for m in shown), shown


# -- at entry: the likely matches of a record, before it is saved --------------------------


@pytest.fixture
def reported(editor_client, story):
    """GB → UA Storm Shadow, "dozens" in Nov 2024, as one outlet reported it."""
    assert editor_client.post(ADD, _transfer(story)).status_code == 302
    return Transfer.objects.get()


def _second_outlet(story):
    return source_create(
        url="https://other.example.org/storm", title="Storm Shadow again", reliability="C"
    )


def test_a_record_that_matches_an_existing_one_shows_the_likely_matches_before_it_is_saved(
    editor_client, story, reported
):
    other = _second_outlet(story)
    data = _transfer(story, **{"citations-0-source": other.pk})
    page = editor_client.post(ADD, data)
    assert page.status_code == 200  # shown again, not saved
    assert Transfer.objects.count() == 1
    form = page.context["adminform"].form
    (match,) = form.likely_matches
    assert match["dataset"] == f"source:{story['source'].pk}" and not match["same_dataset"]
    assert match["reports"][0]["id"] == reported.pk
    html = page.content.decode()
    assert "This record may already be in Stockpile" in html
    assert f'value="transfers.transfer:{reported.pk}"' in html
    assert reverse("admin:transfers_transfer_change", args=[reported.pk]) in html

    # "Save as a new record anyway" saves it: another outlet's report of the same movement
    saved = editor_client.post(ADD, {**data, "_save_despite_matches": "1"})
    assert saved.status_code == 302
    assert Transfer.objects.count() == 2


def test_the_same_source_entered_twice_is_flagged_as_adding_up(editor_client, story, reported):
    page = editor_client.post(ADD, _transfer(story))
    assert page.status_code == 200 and Transfer.objects.count() == 1
    (match,) = page.context["adminform"].form.likely_matches
    assert match["same_dataset"] is True
    assert "same dataset: would add up" in page.content.decode()


def test_a_record_of_another_movement_is_saved_without_asking(editor_client, story, reported):
    poland = Country.objects.get(code="PL").pk
    assert editor_client.post(ADD, _transfer(story, recipient=poland)).status_code == 302
    later = _transfer(story, date="2019", **{"citations-0-source": _second_outlet(story).pk})
    assert editor_client.post(ADD, later).status_code == 302  # dates apart: not the same
    assert Transfer.objects.count() == 3


def test_one_click_adds_the_new_citation_to_the_existing_record_instead(
    editor_client, story, reported
):
    other = _second_outlet(story)
    data = _transfer(
        story,
        _add_citation_to=f"transfers.transfer:{reported.pk}",
        **{"citations-0-source": other.pk, "citations-0-excerpt": "a second outlet"},
    )
    response = editor_client.post(ADD, data)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:transfers_transfer_change", args=[reported.pk])
    assert Transfer.objects.count() == 1  # no new record
    assert sorted(reported.citations.values_list("source__title", flat=True)) == [
        "More ATACMS for Ukraine",
        "Storm Shadow again",
    ]
    added = reported.citations.get(source=other)
    assert added.excerpt == "a second outlet"
    assert added.history.get().history_user.username == "editor"


@pytest.mark.parametrize(
    ("target", "citation", "message"),
    [
        ("transfers.transfer:999999", {}, "no record 'transfers.transfer:999999'"),
        ("auth.user:1", {}, "no record 'auth.user:1'"),
        ("{reported}", {"citations-0-credibility": "9"}, "credibility '9'"),
        ("{reported}", {"citations-0-source": ""}, "no citation with a source"),
    ],
)
def test_adding_the_citation_elsewhere_refuses_bad_input_and_writes_nothing(
    editor_client, story, reported, target, citation, message
):
    from transfers.models import Citation

    target = target.format(reported=f"transfers.transfer:{reported.pk}")
    data = _transfer(story, _add_citation_to=target, **citation)
    page = editor_client.post(ADD, data, follow=True)
    assert page.status_code == 200
    assert message in page.content.decode().replace("&#x27;", "'")
    assert "Nothing was saved" in page.content.decode()
    assert Transfer.objects.count() == 1 and Citation.objects.count() == 1


def test_adding_the_citation_elsewhere_needs_the_right_to_change_that_record(
    client, story, reported
):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="reader", role="viewer"))
    data = _transfer(story, _add_citation_to=f"transfers.transfer:{reported.pk}")
    assert client.post(ADD, data).status_code == 403
    assert reported.citations.count() == 1
