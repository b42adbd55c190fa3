from django.apps import AppConfig


class StockConfig(AppConfig):
    """The stock ledger and everything derived from it: estimates, series, their refresh
    tasks, admin, API and "why this number"."""

    name = "stock"
    verbose_name = "Stock ledger and estimates"
