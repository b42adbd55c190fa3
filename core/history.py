"""Change history: who changed a record, when, what, and through which door.

django-simple-history keeps one historical row per create, update and delete (it works on
PostgreSQL and SQLite, and its bulk helpers write history for bulk writes too). Every
historical table here also stores:

- `door`: admin, api, import, task or shell, read from a context variable that the
  middleware (admin and API requests), importers and Celery tasks set with `history_door()`;
- `actor_name`: the actor's username frozen as text, so the row still says who acted after
  the user is deleted (the user foreign key is SET_NULL).

Historical rows carry no foreign key to their subject, so they survive its deletion.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from collections.abc import Iterator

from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from simple_history.models import HistoricalRecords
from simple_history.signals import pre_create_historical_record


class Door(models.TextChoices):
    ADMIN = "admin", "Admin"
    API = "api", "API"
    IMPORT = "import", "Import"
    TASK = "task", "Task"
    SHELL = "shell", "Shell / management command"


_current_door: contextvars.ContextVar[str] = contextvars.ContextVar("door", default=Door.SHELL)


def current_door() -> str:
    return _current_door.get()


@contextlib.contextmanager
def history_door(door: str) -> Iterator[None]:
    """Attribute every history row written inside the block to `door`."""
    if door not in Door.values:
        raise ValueError(f"door {door!r} is not one of {', '.join(Door.values)}")
    token = _current_door.set(door)
    try:
        yield
    finally:
        _current_door.reset(token)


class HistoryDoorMiddleware:
    """Requests under /api/ write history as the API door; everything else as the admin."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        door = Door.API if request.path.startswith("/api/") else Door.ADMIN
        with history_door(door):
            return self.get_response(request)


class HistoryContext(models.Model):
    """Abstract base of every historical model: the door and the frozen actor name."""

    door = models.CharField(max_length=10, choices=Door.choices, default=current_door)
    actor_name = models.CharField(max_length=150, blank=True, default="")

    class Meta:
        abstract = True


def tracked_history(**kwargs) -> HistoricalRecords:
    """The history manager every record model uses."""
    return HistoricalRecords(bases=[HistoryContext], cascade_delete_history=False, **kwargs)


_current_actor: contextvars.ContextVar = contextvars.ContextVar("actor", default=None)


@contextlib.contextmanager
def history_actor(actor) -> Iterator[None]:
    """Attribute history rows written inside the block, that name no user, to `actor`
    (deletes of many rows at once, cascades)."""
    token = _current_actor.set(actor)
    try:
        yield
    finally:
        _current_actor.reset(token)


def _stamp_history_row(sender, history_instance, **kwargs) -> None:
    history_instance.door = current_door()
    if history_instance.history_user is None and _current_actor.get() is not None:
        history_instance.history_user = _current_actor.get()
    user = history_instance.history_user
    if user is not None and not history_instance.actor_name:
        history_instance.actor_name = user.get_username()


pre_create_historical_record.connect(_stamp_history_row, dispatch_uid="stockpile_history_stamp")


# -- as known at a moment (transaction time) ---------------------------------------------------


def known_at_parse(raw: str) -> dt.datetime:
    """A moment as `?known_at=` (and `since`, `until`) take it: an ISO 8601 date-time (UTC when
    it has no offset) or a date, meaning the end of that day (UTC). ValueError names the
    value when it is neither. The one reading of a moment the explorer and the API share."""
    try:
        day = parse_date(raw) if len(raw) == 10 else None
        moment = dt.datetime.combine(day, dt.time.max) if day else parse_datetime(raw)
    except ValueError:
        moment = None
    if moment is None:
        raise ValueError(
            f"{raw!r} is not a date (2024-03-01) or a date-time (2024-03-01T12:00:00Z)."
        )
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=dt.UTC)
    return moment


def _later(rows: models.QuerySet, until: dt.datetime | None) -> models.QuerySet:
    """The history rows of the same object that come after the outer row (by time, then
    history id: two changes in one instant are ordered), up to `until`."""
    later = rows.model._default_manager.filter(id=models.OuterRef("id")).filter(
        models.Q(history_date__gt=models.OuterRef("history_date"))
        | models.Q(
            history_date=models.OuterRef("history_date"),
            history_id__gt=models.OuterRef("history_id"),
        )
    )
    return later.filter(history_date__lte=until) if until is not None else later


def history_as_of(model: type[models.Model], moment: dt.datetime) -> models.QuerySet:
    """The historical rows of `model` that stand for its objects as they were at `moment`:
    each object's last change at or before it, unless that change was its deletion. So an
    object created later is absent, one deleted later is present, with its fields as then."""
    rows = model.history.filter(history_date__lte=moment)
    return rows.filter(~models.Exists(_later(rows, moment))).exclude(history_type="-")


def history_last_in(
    model: type[models.Model], since: dt.datetime, until: dt.datetime
) -> models.QuerySet:
    """Each object's last change after `since` and at or before `until` (its deletion
    included): where the objects changed in that window ended up."""
    rows = model.history.filter(history_date__gt=since, history_date__lte=until)
    return rows.filter(~models.Exists(_later(rows, until)))


def instance_of(row) -> models.Model:
    """The model instance a historical row stands for, with the related objects the
    historical queryset loaded (`select_related`) kept, so that reading them costs nothing."""
    instance = row.instance
    for field in instance._meta.concrete_fields:
        if not field.is_relation:
            continue
        historical = row._meta.get_field(field.name)
        if historical.is_cached(row):
            related = historical.get_cached_value(row)
            if related is not None:  # None for an object since deleted: left to load lazily
                field.set_cached_value(instance, related)
    return instance
