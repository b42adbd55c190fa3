"""Web addresses from data: one rule for what is accepted and what becomes a link.

Every door that takes a URL (model fields and so admin forms and API serializers, the
importers) validates with `validate_web_url`: http and https only, so that a `javascript:`
or `data:` address never enters. Every place that renders a URL from data as a link uses
`web_link` (Python) or the `web_url` template filter: a URL that is not http(s) (an old row,
a bug in a door) is shown as text, never as a link.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.html import format_html, format_html_join

WEB_SCHEMES = ("http", "https")
MAX_URL_LENGTH = 2000
_validator = URLValidator(schemes=list(WEB_SCHEMES))


def validate_web_url(value: str) -> None:
    """Raise ValidationError naming the value unless it is an http(s) address."""
    if not value:
        return
    shown = value if len(value) <= 80 else value[:77] + "..."
    if len(value) > MAX_URL_LENGTH:
        raise ValidationError(
            "%(value)r is longer than %(max)s characters.",
            code="invalid_url",
            params={"value": shown, "max": MAX_URL_LENGTH},
        )
    try:
        _validator(value)
    except ValidationError:
        raise ValidationError(
            "%(value)r is not a web address (http:// or https://).",
            code="invalid_url",
            params={"value": shown},
        ) from None


def is_web_url(value: object) -> bool:
    if not isinstance(value, str) or not value:
        return False
    try:
        validate_web_url(value)
    except ValidationError:
        return False
    return True


def web_link(url: str, text: object, **attributes: str) -> str:
    """An <a> for an http(s) URL; the text alone (escaped) for anything else."""
    if not is_web_url(url):
        return format_html("{}", text)
    extra = format_html_join("", ' {}="{}"', attributes.items())
    return format_html('<a href="{}"{}>{}</a>', url, extra, text)
