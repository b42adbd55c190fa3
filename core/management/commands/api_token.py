"""`manage.py api_token create|list|revoke`: API tokens for scripts (core.api.tokens).

manage.py api_token create alice --days 30   # prints the token, this once
manage.py api_token list [alice]             # prefixes, users, expiry; never a token
manage.py api_token revoke stk_1a2b3c4d      # by prefix (8 characters or more)
manage.py api_token revoke --user alice      # all of a user's tokens
manage.py api_token revoke --expired
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from knox.models import AuthToken

from core.api.tokens import api_token_create, api_tokens_revoke, token_is_expired, token_prefix


def _user(username: str):
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"username: no user is called {username!r}.")
    return user


class Command(BaseCommand):
    help = "Create (shown once), list (prefixes only) and revoke API tokens."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="action", required=True)
        create = commands.add_parser("create", help="a new token for a user, printed once")
        create.add_argument("username")
        create.add_argument("--days", type=int, default=None)
        listing = commands.add_parser("list", help="tokens by prefix, user and expiry")
        listing.add_argument("username", nargs="?", default="")
        revoke = commands.add_parser("revoke", help="delete tokens")
        revoke.add_argument("prefix", nargs="?", default="")
        revoke.add_argument("--user", default="")
        revoke.add_argument("--expired", action="store_true")

    def handle(self, *args, action, **options):
        try:
            getattr(self, f"_{action}")(**options)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc

    def _create(self, *, username, days, **options):
        stored, token = api_token_create(user=_user(username), days=days)
        self.stdout.write(token)
        self.stderr.write(
            f"Token {token_prefix(stored)} for {username}, valid until "
            f"{stored.expiry:%Y-%m-%d %H:%M} UTC. Copy it now: it is not kept and cannot be "
            "shown again."
        )

    def _list(self, *, username, **options):
        tokens = AuthToken.objects.select_related("user").order_by("user__username", "created")
        if username:
            tokens = tokens.filter(user=_user(username))
        now = timezone.now()
        for token in tokens:
            state = "expired" if token_is_expired(token, now=now) else "valid"
            expiry = f"{token.expiry:%Y-%m-%d %H:%M}" if token.expiry else "never"
            self.stdout.write(
                f"{token_prefix(token)}\t{token.user.get_username()}\t"
                f"{token.created:%Y-%m-%d %H:%M}\t{expiry}\t{state}"
            )

    def _revoke(self, *, prefix, user, expired, **options):
        count = api_tokens_revoke(
            prefix=prefix, user=_user(user) if user else None, expired=expired
        )
        self.stdout.write(f"Revoked {count} token(s).")
