"""Token authentication: hashed, expiring tokens (django-rest-knox, see core.api.tokens)
that counts wrong tokens per client address.

DRF checks throttles after authentication, so a wrong token was a 401 that no throttle ever
counted: an address could try tokens without limit. Here each wrong (or expired) token
counts against the address in the shared cache; past `STOCKPILE_API_TOKEN_FAILURE_LIMIT`
within `STOCKPILE_API_TOKEN_FAILURE_WINDOW` seconds, every token request from it is a 429
(with Retry-After) before the token is even looked up — the right token included.

The token is found by its prefix and checked against the stored SHA-512 digest in constant
time, in one query: the user joined and, on PostgreSQL, the user's and their groups'
permission names as an array (`PERMISSIONS_SQL`), kept on the user for the request's life
where Django's ModelBackend looks for them (`_perm_cache`); elsewhere
`core.api.permissions.load_permissions` reads them in a second query. knox's own check also reads all the user's other
tokens on every request to delete expired ones; here an expired token is deleted when it is
presented, and `manage.py api_token revoke --expired` clears the rest.
"""

from __future__ import annotations

import binascii
import functools
import time
from hmac import compare_digest

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import connection
from django.db.models.expressions import RawSQL
from django.utils import timezone
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import AuthToken
from knox.settings import CONSTANTS
from rest_framework.authentication import get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, Throttled

from core.request_guards import client_ip

KEY = "stockpile:token-failures:{address}"


@functools.cache
def permissions_sql() -> str:
    """The token's user's permission names ("app_label.codename"), their own and their
    groups', as an array: a subquery of the token's own query (PostgreSQL)."""
    user_model = get_user_model()
    own = user_model.user_permissions.through._meta.db_table
    member = user_model.groups.through._meta.db_table
    granted = Group.permissions.through._meta.db_table
    token = AuthToken._meta.db_table
    return f"""ARRAY(
        SELECT ct.app_label || '.' || p.codename
        FROM {Permission._meta.db_table} p
        JOIN {ContentType._meta.db_table} ct ON ct.id = p.content_type_id
        WHERE p.id IN (
            SELECT permission_id FROM {own} WHERE user_id = {token}.user_id
            UNION
            SELECT g.permission_id FROM {granted} g JOIN {member} m ON m.group_id = g.group_id
            WHERE m.user_id = {token}.user_id))"""


def _key(request) -> str:
    return KEY.format(address=client_ip(request))


class CountedTokenAuthentication(TokenAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        words = get_authorization_header(request).split()
        if not words or words[0].lower() != self.keyword.lower().encode():
            return None  # not a token request: nothing to count
        key = _key(request)
        window = settings.STOCKPILE_API_TOKEN_FAILURE_WINDOW
        failures = cache.get(key) or {"count": 0, "since": time.time()}
        if failures["count"] >= settings.STOCKPILE_API_TOKEN_FAILURE_LIMIT:
            wait = max(1, int(failures["since"] + window - time.time()))
            raise Throttled(
                wait=wait,
                detail=f"Too many wrong tokens from this address; retry in {wait} s.",
            )
        try:
            return super().authenticate(request)
        except AuthenticationFailed:
            failures["count"] += 1
            remaining = max(1, int(failures["since"] + window - time.time()))
            cache.set(key, failures, timeout=remaining)
            raise

    def authenticate_header(self, request):
        return self.keyword

    def authenticate_credentials(self, token: bytes):
        try:
            text = token.decode("ascii")
            digest = hash_token(text)
        except (UnicodeDecodeError, TypeError, ValueError, binascii.Error):
            raise AuthenticationFailed("Invalid token.") from None
        candidates = AuthToken.objects.filter(
            token_key=text[: CONSTANTS.TOKEN_KEY_LENGTH]
        ).select_related("user")
        with_permissions = connection.vendor == "postgresql"
        if with_permissions:
            candidates = candidates.annotate(permission_names=RawSQL(permissions_sql(), ()))
        for stored in candidates:
            if not compare_digest(digest, stored.digest):
                continue
            if stored.expiry is not None and stored.expiry <= timezone.now():
                stored.delete()
                raise AuthenticationFailed(
                    f"This token expired on {stored.expiry:%Y-%m-%d}; ask for a new one "
                    "(docs/api.md, Authentication)."
                )
            user, found = self.validate_user(stored)
            if with_permissions and not user.is_superuser:
                # ModelBackend reads this cache for active users (superusers need none)
                user._perm_cache = set(stored.permission_names)
            return user, found
        raise AuthenticationFailed("Invalid token.")
