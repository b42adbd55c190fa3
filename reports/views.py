"""Public pages of the report emails: unsubscribe and confirm, by signed link, no login.

GET shows a page with one button; POST does it. A mail client's one-click unsubscribe
(RFC 8058: `List-Unsubscribe-Post: List-Unsubscribe=One-Click`) POSTs to the same URL
without a CSRF token, hence `csrf_exempt`: the signed token is the credential. Link
scanners that fetch every URL of a message (GET) therefore unsubscribe nobody. Both actions
are idempotent. A forged or mangled token gets a 400 and changes nothing.
"""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from reports.services import subscription_confirm, subscription_unsubscribe
from reports.tokens import confirm_token_read, unsubscribe_token_read


def _page(request, title: str, message: str, *, action: str = "", status: int = 200):
    response = render(
        request,
        "reports/page.html",
        {"title": title, "message": message, "action": action},
        status=status,
    )
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"  # the token must not leak to other sites
    return response


def _invalid(request):
    return _page(
        request,
        "Invalid link",
        "This link is not valid (it may have been cut or changed). Use the link in the "
        "latest email you received.",
        status=400,
    )


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    from reports.models import Subscription

    subscription_id = unsubscribe_token_read(token)
    if subscription_id is None:
        return _invalid(request)
    if request.method == "GET":
        subscription = Subscription.objects.filter(pk=subscription_id).first()
        if subscription is None or subscription.unsubscribed_at is not None:
            return _page(
                request, "Unsubscribed", "You are unsubscribed: no more reports will be sent."
            )
        return _page(
            request,
            "Unsubscribe",
            f"Stop the {subscription.get_cadence_display().lower()} Stockpile reports to "
            f"{subscription.recipient}?",
            action="Unsubscribe",
        )
    subscription_unsubscribe(subscription_id=subscription_id)
    return _page(request, "Unsubscribed", "You are unsubscribed: no more reports will be sent.")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def confirm(request, token: str):
    payload = confirm_token_read(token)
    if payload is None:
        return _page(
            request,
            "Invalid or expired link",
            "This confirmation link is not valid or has expired. Ask for a new one.",
            status=400,
        )
    if request.method == "GET":
        return _page(
            request,
            "Confirm your address",
            f"Send Stockpile reports to {payload[1]}?",
            action="Confirm",
        )
    subscription = subscription_confirm(subscription_id=payload[0], email=payload[1])
    if subscription is None:
        return _invalid(request)
    return _page(request, "Confirmed", f"Reports will be sent to {subscription.recipient}.")
