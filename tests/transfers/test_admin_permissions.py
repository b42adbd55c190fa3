"""Every admin action and custom admin view declares what it needs, and each role gets
exactly that (issue 14, part 1).

The matrix is derived from `admin.site`: every registered model admin's actions and
`get_urls()`, and the site's own URLs, against every role. A new action or view that
declares no permission fails here.
"""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.core import mail
from django.test import RequestFactory
from django.urls import URLPattern, reverse
from django.urls.resolvers import RoutePattern
from django.utils import timezone

from core.admin_access import ACTION_PERMISSIONS, action_permission, mask_email
from reports.choices import Cadence, DeliveryStatus
from reports.models import ReportDelivery, Subscription
from reports.rendering import PREVIEW_UNSUBSCRIBE
from reports.services import subscription_create
from reports.tokens import unsubscribe_token
from stock.models import StockEstimate
from tests.factories import PledgeFactory, UserFactory, WeaponSystemFactory

pytestmark = pytest.mark.django_db

ROLES = ("viewer", "editor", "administrator")
DJANGO_VERBS = {"view", "add", "change", "delete"}
# Views of Django itself that check their own permission.
DJANGO_MODEL_VIEWS = {"changelist", "add", "history", "delete", "change", "password_change"}
DJANGO_SITE_VIEWS = {
    None,  # the catch-all and the object redirect
    "index",
    "login",
    "logout",
    "password_change",
    "password_change_done",
    "autocomplete",
    "jsi18n",
    "view_on_site",
    "app_list",
}
SAMPLE_KWARGS = {"pk": 999999, "object_id": "999999", "record_type": "holding", "fmt": "csv"}


def registered():
    return list(admin.site._registry.items())


def custom_views():
    """(model admin or None, URL pattern) of every view beyond Django's own."""
    for model, model_admin in registered():
        prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
        for pattern in model_admin.get_urls():
            name = (pattern.name or "").removeprefix(prefix).removeprefix("user_")
            if pattern.name and name not in DJANGO_MODEL_VIEWS:
                yield model_admin, pattern
    for pattern in admin.site.get_urls():
        if isinstance(pattern, URLPattern) and pattern.name not in DJANGO_SITE_VIEWS:
            yield None, pattern


def view_url(pattern) -> str:
    if isinstance(pattern.pattern, RoutePattern):
        kwargs = {key: SAMPLE_KWARGS[key] for key in pattern.pattern.converters}
        return reverse(f"admin:{pattern.name}", kwargs=kwargs)
    groups = re.compile(pattern.pattern.regex.pattern).groups
    return reverse(f"admin:{pattern.name}", args=["999999"] * groups)


def needed(model_admin, names, url_kwargs=None) -> list[str]:
    if model_admin is None:
        return [name.format(**(url_kwargs or {})) for name in names]
    return [name if "." in name else action_permission(model_admin, name) for name in names]


def test_every_action_declares_a_known_permission():
    undeclared = []
    for model, model_admin in registered():
        for func, name, _description in model_admin._get_base_actions():
            declared = getattr(func, "allowed_permissions", None)
            if not declared:
                undeclared.append(f"{model._meta.label}: {name}")
                continue
            for permission in declared:
                assert permission in DJANGO_VERBS | set(ACTION_PERMISSIONS), (model, name)
    assert undeclared == [], "actions without allowed_permissions"


def test_every_custom_view_declares_its_permissions():
    views = list(custom_views())
    assert {p.name for _, p in views} >= {
        "reports_subscription_preview",
        "transfers_import",
        "transfers_export",
        "transfers_holding_simple_history",
    }
    undeclared = [p.name for _, p in views if not getattr(p.callback, "admin_permissions", ())]
    assert undeclared == [], "custom admin views that declare no permission"


@pytest.mark.parametrize("role", ROLES)
def test_each_role_is_offered_only_the_actions_its_permissions_allow(role):
    user = UserFactory(username=role, role=role)
    request = RequestFactory().get("/admin/")
    request.user = user
    offered_anything = False
    for _model, model_admin in registered():
        for name, (func, *_rest) in model_admin.get_actions(request).items():
            permissions = needed(model_admin, func.allowed_permissions)
            assert user.has_perms(permissions), (role, model_admin, name, permissions)
            if role == "viewer":
                assert tuple(func.allowed_permissions) == ("view",), name
            offered_anything = True
    assert offered_anything  # the exports at least


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_only_the_custom_views_its_permissions_allow(client, role):
    user = UserFactory(username=role, role=role)
    client.force_login(user)
    for model_admin, pattern in custom_views():
        url = view_url(pattern)
        permissions = needed(model_admin, pattern.callback.admin_permissions, SAMPLE_KWARGS)
        status = client.get(url).status_code
        if user.has_perms(permissions):
            assert status != 403, (role, url)
        else:
            assert status == 403, (role, url)


def test_sending_and_releasing_reports_are_for_administrators_only():
    assert not UserFactory(username="e", role="editor").has_perm("reports.send_report")
    assert UserFactory(username="a", role="administrator").has_perm("reports.send_report")
    assert UserFactory(username="e2", role="editor").has_perm("stock.refresh_stockestimate")
    assert not UserFactory(username="v", role="viewer").has_perm("stock.refresh_stockestimate")


def _due_subscriber() -> Subscription:
    from tests.reports.test_reports import backdate, daily_subscriber

    PledgeFactory()
    subscription = daily_subscriber()
    backdate()
    return subscription


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_viewers_and_editors_cannot_send_reports_now(client, role):
    subscription = _due_subscriber()
    client.force_login(UserFactory(username=role, role=role))
    client.post(
        reverse("admin:reports_subscription_changelist"),
        {"action": "send_now", "_selected_action": [subscription.pk]},
    )
    assert mail.outbox == [] and not ReportDelivery.objects.exists()


def test_a_viewer_cannot_release_a_delivery(viewer_client):
    subscription = _due_subscriber()
    delivery = ReportDelivery.objects.create(
        subscription=subscription,
        recipient=subscription.recipient,
        cadence=subscription.cadence,
        period_start=timezone.localdate() - timezone.timedelta(days=3),
        period_end=timezone.localdate() - timezone.timedelta(days=2),
        status=DeliveryStatus.SENDING,
    )
    viewer_client.post(
        reverse("admin:reports_reportdelivery_changelist"),
        {"action": "release", "_selected_action": [delivery.pk]},
    )
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENDING


def test_a_viewer_cannot_refresh_estimates(viewer_client, monkeypatch):
    calls = []
    monkeypatch.setattr("stock.admin.estimates_refresh_pairs", lambda pairs: calls.append(pairs))
    from inventory.models import Country

    estimate = StockEstimate.objects.create(
        holder=Country.objects.get(code="UA"),
        system=WeaponSystemFactory(),
        scope="system",
        computed_at=timezone.now(),
    )
    viewer_client.post(
        reverse("admin:stock_stockestimate_changelist"),
        {"action": "refresh_selected", "_selected_action": [estimate.pk]},
    )
    assert calls == []


def test_confirmation_mails_need_change_permission_and_wait_an_hour(
    client, viewer, editor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        subscription = subscription_create(email="new@example.org", cadence=Cadence.WEEKLY)
    assert len(mail.outbox) == 1
    mail.outbox.clear()
    resend = {"action": "send_confirmation", "_selected_action": [subscription.pk]}
    url = reverse("admin:reports_subscription_changelist")

    client.force_login(viewer)
    client.post(url, resend)
    assert mail.outbox == []

    client.force_login(editor)
    client.post(url, resend)
    assert mail.outbox == []  # the creation's mail went out less than an hour ago

    Subscription.objects.update(confirmation_sent_at=timezone.now() - timezone.timedelta(hours=2))
    client.post(url, resend)
    client.post(url, resend)
    assert len(mail.outbox) == 1


def test_the_preview_carries_no_working_unsubscribe_link(viewer_client):
    subscription = _due_subscriber()
    response = viewer_client.get(
        reverse("admin:reports_subscription_preview", args=[subscription.pk])
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert unsubscribe_token(subscription) not in body
    assert "/reports/unsubscribe/" not in body and PREVIEW_UNSUBSCRIBE in body


def test_viewers_see_subscriber_addresses_masked_editors_in_full(client, viewer, editor):
    subscription = _due_subscriber()
    ReportDelivery.objects.create(
        subscription=subscription,
        recipient=subscription.recipient,
        cadence=subscription.cadence,
        period_start=timezone.localdate() - timezone.timedelta(days=3),
        period_end=timezone.localdate() - timezone.timedelta(days=2),
    )
    pages = [
        reverse("admin:reports_subscription_changelist"),
        reverse("admin:reports_subscription_change", args=[subscription.pk]),
        reverse("admin:reports_reportdelivery_changelist"),
        reverse(
            "admin:reports_reportdelivery_change",
            args=[ReportDelivery.objects.get().pk],
        ),
        reverse("admin:reports_subscription_changelist") + "?q=analyst",
    ]
    client.force_login(viewer)
    for page in pages:
        body = client.get(page).content.decode()
        assert "analyst@example.org" not in body, page
    assert mask_email("analyst@example.org") in client.get(pages[0]).content.decode()

    client.force_login(editor)
    assert "analyst@example.org" in client.get(pages[0]).content.decode()
    assert "analyst@example.org" in client.get(pages[1]).content.decode()


def test_a_viewer_cannot_revert_a_record_through_its_history_page(viewer_client, editor):
    pledge = PledgeFactory(notes="before")
    version = pledge.history.latest()
    url = reverse("admin:transfers_pledge_simple_history", args=[pledge.pk, version.history_id])
    assert viewer_client.get(url).status_code == 200
    response = viewer_client.post(url, {"notes": "changed by a viewer"})
    assert response.status_code == 403
    pledge.refresh_from_db()
    assert pledge.notes == "before"
