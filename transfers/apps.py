from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_roles(sender, **kwargs) -> None:
    from django.contrib.auth.models import Group, Permission

    from transfers.roles import roles_sync

    roles_sync(Group, Permission)


class TransfersConfig(AppConfig):
    name = "transfers"
    verbose_name = "Sourced records"

    def ready(self) -> None:
        # After every app's post_migrate (not only ours): the apps above this one (reports)
        # get their permissions after ours, and their roles must include them.
        post_migrate.connect(_sync_roles, dispatch_uid="stockpile_roles_sync")
        from transfers.ledger import register

        register()  # the full ledger rebuild re-posts these records
        from inventory.catalogue import register_system_mover
        from transfers.services import records_move_system

        register_system_mover(records_move_system)  # merging a name moves its records
