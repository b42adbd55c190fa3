"""API tokens: hashed, expiring, shown once (django-rest-knox's `AuthToken`).

The database keeps a token's SHA-512 digest and its first 15 characters (`token_key`, the
prefix `stk_…` that lists and the admin show); the full token is returned once, by
`api_token_create`, to whoever creates it, and can never be read back. Every token expires:
`STOCKPILE_API_TOKEN_DAYS` by default, at most `STOCKPILE_API_TOKEN_MAX_DAYS`. Revoking is
deleting. Doors: the admin (*API tokens*) and `manage.py api_token`.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from knox.models import AuthToken


def token_prefix(token: AuthToken) -> str:
    """What is shown of a stored token: its first characters."""
    return f"{token.token_key}…"


def token_is_expired(token: AuthToken, *, now: dt.datetime | None = None) -> bool:
    return token.expiry is not None and token.expiry <= (now or timezone.now())


def api_token_create(*, user, days: int | None = None) -> tuple[AuthToken, str]:
    """A new token for `user`, valid `days` days; returns the stored row and the full
    token, which is not kept anywhere."""
    limit = settings.STOCKPILE_API_TOKEN_MAX_DAYS
    days = settings.STOCKPILE_API_TOKEN_DAYS if days is None else days
    if not 1 <= days <= limit:
        raise ValidationError({"days": f"{days} is not a number of days from 1 to {limit}."})
    if not user.is_active:
        raise ValidationError({"user": f"{user.get_username()!r} is not an active user."})
    return AuthToken.objects.create(user=user, expiry=dt.timedelta(days=days))


def api_tokens_revoke(*, prefix: str = "", user=None, expired: bool = False) -> int:
    """Delete the tokens that start with `prefix`, or every token of `user`, or every expired
    token; returns how many."""
    if not (prefix or user is not None or expired):
        raise ValidationError("Name a token prefix, a user or the expired tokens to revoke.")
    tokens = AuthToken.objects.all()
    if prefix:
        prefix = prefix.rstrip("…")
        if len(prefix) < 8:
            raise ValidationError(
                {"prefix": f"{prefix!r} is too short: give 8 characters or more."}
            )
        tokens = tokens.filter(token_key__startswith=prefix[:15])
    if user is not None:
        tokens = tokens.filter(user=user)
    if expired:
        tokens = tokens.filter(expiry__lte=timezone.now())
    deleted, _ = tokens.delete()
    return deleted
