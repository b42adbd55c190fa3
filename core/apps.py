from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The platform every app stands on: history and doors, the tracked write kernel, value
    types, admin and API base classes. No models, no domain words."""

    name = "core"
    verbose_name = "Platform"
