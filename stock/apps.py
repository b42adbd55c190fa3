from django.apps import AppConfig


class StockConfig(AppConfig):
    """The stock ledger and everything derived from it: estimates, series, their refresh
    tasks, admin, API and "why this number"."""

    name = "stock"
    verbose_name = "Stock ledger and estimates"

    def ready(self) -> None:
        from stock.ledger import Rebuilder, register_rebuilder
        from stock.movements import MOVEMENT_ORIGIN, movement_records, movements_existing

        # The movements' own rows: a full rebuild cancels those of movements that are gone
        # (the movements are re-matched after the rebuild), and "why this number" shows
        # each movement with its reports.
        register_rebuilder(
            Rebuilder(
                batches=lambda: iter(()),
                existing=movements_existing,
                models=(MOVEMENT_ORIGIN,),
                records=movement_records,
            )
        )
