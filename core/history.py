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
from collections.abc import Iterator

from django.db import models
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
