from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The platform every app stands on: history and doors, the tracked write kernel, value
    types, admin and API base classes. No models, no domain words."""

    name = "core"
    verbose_name = "Platform"

    def ready(self) -> None:
        from core import admin_tokens  # noqa: F401  (replaces knox's admin: no digests shown)
