"""API tokens in the admin (administrators): list, create, revoke; never a full token.

The list and the view page show a token's prefix (`stk_1a2b3c4d5e6…`), its user, when it
was made and when it expires. Its SHA-512 digest is the row's id (in the admin's URLs and
its log); it cannot be turned back into the token. Adding a token renders it in full on
the response page, once (no redirect, no message stored in the session or a cookie,
`Cache-Control: no-store`); it cannot be read again. Tokens are not edited: revoke (delete)
one and create another. Registered from CoreConfig.ready(), replacing knox's own admin
(which lists digests).
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers
from knox import admin as knox_admin  # registers knox's admin, which is replaced below
from knox.models import AuthToken

from core.api.tokens import api_token_create, token_is_expired, token_prefix


class ApiTokenAddForm(forms.ModelForm):
    days = forms.IntegerField(
        min_value=1,
        help_text="How long the token is valid, in days (at most STOCKPILE_API_TOKEN_MAX_DAYS).",
    )

    class Meta:
        model = AuthToken
        fields = ["user"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["days"] = forms.IntegerField(
            min_value=1,
            max_value=settings.STOCKPILE_API_TOKEN_MAX_DAYS,
            initial=settings.STOCKPILE_API_TOKEN_DAYS,
            help_text=self.fields["days"].help_text,
        )
        self.fields["user"].queryset = get_user_model().objects.filter(is_active=True)

    def _post_clean(self):  # the token is made by the service, not from the form's fields
        pass


class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "user", "created", "expiry", "state"]
    list_filter = ["created", "expiry"]
    search_fields = ["token_key", f"user__{get_user_model().USERNAME_FIELD}"]
    ordering = ["-created"]
    raw_id_fields = ["user"]
    form = ApiTokenAddForm
    actions = ["delete_selected"]

    @admin.display(description="token", ordering="token_key")
    def prefix(self, obj) -> str:
        return token_prefix(obj)

    @admin.display(description="state")
    def state(self, obj) -> str:
        return "expired" if token_is_expired(obj) else "valid"

    def get_fields(self, request, obj=None):
        return ["user", "days"] if obj is None else ["prefix", "user", "created", "expiry"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["prefix", "user", "created", "expiry"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["fields"] = ["user"]
        else:  # the view page: every field read-only
            kwargs["form"] = forms.ModelForm
        return super().get_form(request, obj, change=change, **kwargs)

    def has_change_permission(self, request, obj=None):
        return False  # revoke and create another

    def save_model(self, request, obj, form, change):
        try:
            stored, token = api_token_create(
                user=form.cleaned_data["user"], days=form.cleaned_data["days"]
            )
        except ValidationError as exc:  # the form checked both; a race left
            raise forms.ValidationError(exc.messages) from exc
        obj.digest, obj.token_key, obj.user = stored.digest, stored.token_key, stored.user
        obj.created, obj.expiry = stored.created, stored.expiry
        obj._state.adding, obj._state.db = False, stored._state.db
        request._stockpile_new_token = token

    def response_add(self, request, obj, post_url_continue=None):
        response = TemplateResponse(
            request,
            "admin/knox/authtoken/created.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": "API token created",
                "token": request._stockpile_new_token,
                "stored": obj,
                "prefix": token_prefix(obj),
            },
        )
        add_never_cache_headers(response)
        response["Cache-Control"] = "no-store, " + response["Cache-Control"]
        return response


admin.site.unregister(AuthToken)
admin.site.register(AuthToken, ApiTokenAdmin)
__all__ = ["ApiTokenAdmin", "knox_admin"]
