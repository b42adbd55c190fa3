"""Consent (issue 14, part 9): a changed address needs a new confirmation; only the user
subscribes themselves, administrators may invite."""

from __future__ import annotations

import re
from importlib import import_module

import pytest
from django.apps import apps
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from reports.choices import Cadence
from reports.models import Subscription
from reports.services import (
    sendable,
    subscription_create,
    subscription_save,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _link(message) -> str:
    return re.search(r"http://\S+/reports/confirm/\S+/", message.body).group(0)


def _confirm(client, link):
    path = link.split("8000", 1)[1]
    return client.post(path)


def test_a_changed_address_needs_a_new_confirmation(client, django_capture_on_commit_callbacks):
    subscription = subscription_create(
        email="old@example.org", cadence=Cadence.WEEKLY, confirmed_at=timezone.now()
    )
    assert Subscription.objects.filter(sendable(), pk=subscription.pk).exists()

    subscription.email = "new@example.org"
    with django_capture_on_commit_callbacks(execute=True):
        subscription_save(subscription=subscription)

    subscription.refresh_from_db()
    assert subscription.confirmed_at is None
    assert not Subscription.objects.filter(sendable(), pk=subscription.pk).exists()
    (message,) = mail.outbox
    assert message.to == ["new@example.org"]
    assert _confirm(client, _link(message)).status_code == 200
    subscription.refresh_from_db()
    assert subscription.confirmed_at is not None


def test_a_link_for_the_old_address_does_not_confirm_the_new_one(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        subscription = subscription_create(email="old@example.org", cadence=Cadence.WEEKLY)
    old_link = _link(mail.outbox[0])
    subscription.email = "new@example.org"
    with django_capture_on_commit_callbacks(execute=True):
        subscription_save(subscription=subscription)
    _confirm(client, old_link)
    subscription.refresh_from_db()
    assert subscription.confirmed_at is None


def test_an_editor_subscribes_only_themselves(client, editor):
    other = UserFactory(username="someone", role="viewer")
    with pytest.raises(ValidationError) as refused:
        subscription_create(user=other, cadence=Cadence.WEEKLY, actor=editor)
    assert "only yourself" in str(refused.value) and "someone" in str(refused.value)
    assert not Subscription.objects.exists()

    own = subscription_create(user=editor, cadence=Cadence.WEEKLY, actor=editor)
    assert own.confirmed_at is not None and mail.outbox == []


def test_the_admin_form_refuses_an_editor_subscribing_someone_else(editor_client):
    other = UserFactory(username="someone", role="viewer")
    response = editor_client.post(
        reverse("admin:reports_subscription_add"),
        {
            "user": other.pk,
            "email": "",
            "cadence": "weekly",
            "is_active": "on",
            "starts_on": timezone.localdate().isoformat(),
            "min_reliability": "F",
            "min_credibility": "6",
            "deliveries-TOTAL_FORMS": "0",
            "deliveries-INITIAL_FORMS": "0",
            "deliveries-MIN_NUM_FORMS": "0",
            "deliveries-MAX_NUM_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "only yourself" in response.content.decode()
    assert not Subscription.objects.exists()


def test_an_administrator_invites_a_user_who_confirms(
    client, administrator, django_capture_on_commit_callbacks
):
    invited = UserFactory(username="analyst", role="viewer")
    with django_capture_on_commit_callbacks(execute=True):
        subscription = subscription_create(
            user=invited, cadence=Cadence.WEEKLY, actor=administrator
        )
    assert subscription.confirmed_at is None
    assert not Subscription.objects.filter(sendable(), pk=subscription.pk).exists()
    (message,) = mail.outbox
    assert message.to == [invited.email]
    _confirm(client, _link(message))
    assert Subscription.objects.filter(sendable(), pk=subscription.pk).exists()


def test_user_subscriptions_made_before_stay_confirmed():
    user = UserFactory(username="early")
    subscription = Subscription.objects.create(
        user=user, cadence=Cadence.WEEKLY, starts_on=timezone.localdate()
    )
    migration = import_module("reports.migrations.0002_subscription_consent")
    migration.confirm_existing_user_subscriptions(apps, None)
    subscription.refresh_from_db()
    assert subscription.confirmed_at == subscription.created_at
