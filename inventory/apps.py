from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = "Catalogue"

    def ready(self) -> None:
        from inventory.api import schema  # noqa: F401  registers the schema extensions
