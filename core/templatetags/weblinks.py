"""`{{ url|web_url }}`: the URL when it is an http(s) address, else "" (core.weblinks)."""

from django import template

from core.weblinks import is_web_url

register = template.Library()


@register.filter
def web_url(value):
    return value if is_web_url(value) else ""
