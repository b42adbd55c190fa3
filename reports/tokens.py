"""Signed links (django.core.signing, keyed by SECRET_KEY): nobody can make one for a
subscription without the key, and each salt keeps one kind of link from serving as another."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

UNSUBSCRIBE_SALT = "stockpile.reports.unsubscribe"
CONFIRM_SALT = "stockpile.reports.confirm"


def unsubscribe_token(subscription) -> str:
    return signing.dumps({"s": subscription.pk}, salt=UNSUBSCRIBE_SALT)


def unsubscribe_token_read(token: str) -> int | None:
    """The subscription id of a genuine unsubscribe token (they do not expire: a link in an
    old email keeps working); None for anything forged or mangled."""
    try:
        payload = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    return (
        payload.get("s")
        if isinstance(payload, dict) and isinstance(payload.get("s"), int)
        else None
    )


def confirm_token(subscription) -> str:
    # The address the link was mailed to: a link for an old address confirms nothing.
    return signing.dumps({"s": subscription.pk, "e": subscription.recipient}, salt=CONFIRM_SALT)


def confirm_token_read(token: str) -> tuple[int, str] | None:
    """(subscription id, address) of a genuine confirmation token not older than
    STOCKPILE_REPORTS_CONFIRM_MAX_AGE seconds; None otherwise."""
    try:
        payload = signing.loads(
            token, salt=CONFIRM_SALT, max_age=settings.STOCKPILE_REPORTS_CONFIRM_MAX_AGE
        )
    except signing.BadSignature:  # SignatureExpired is a BadSignature
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("s"), int):
        return None
    return payload["s"], str(payload.get("e", ""))


def absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def unsubscribe_url(subscription) -> str:
    return absolute(reverse("reports:unsubscribe", args=[unsubscribe_token(subscription)]))


def confirm_url(subscription) -> str:
    return absolute(reverse("reports:confirm", args=[confirm_token(subscription)]))
