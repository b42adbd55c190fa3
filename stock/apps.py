from django.apps import AppConfig


class StockConfig(AppConfig):
    """The stock ledger and everything derived from it: estimates, series, their refresh
    tasks, admin, API and "why this number"."""

    name = "stock"
    verbose_name = "Stock ledger and estimates"

    def ready(self) -> None:
        from django.db.models.signals import post_save, pre_save

        from inventory.models import WeaponSystem
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

        # A system moved in the catalogue's tree (any door: the admin, the catalogue's
        # proposals, a script): its reports change family, so their movements are matched
        # again in the same transaction instead of at the nightly re-match.
        pre_save.connect(_lineage_before, sender=WeaponSystem, dispatch_uid="stock-lineage-pre")
        post_save.connect(_lineage_after, sender=WeaponSystem, dispatch_uid="stock-lineage-post")


def _lineage_before(sender, instance, raw=False, **kwargs) -> None:
    if raw or instance.pk is None:
        return
    instance._stock_parent_before = (
        sender.objects.filter(pk=instance.pk).values_list("parent_id", flat=True).first()
    )


def _lineage_after(sender, instance, created=False, raw=False, **kwargs) -> None:
    before = getattr(instance, "_stock_parent_before", None)
    instance.__dict__.pop("_stock_parent_before", None)
    if raw or created or before == instance.parent_id:
        return
    from stock.matching import movements_rematch_lineage

    movements_rematch_lineage(instance.pk)
