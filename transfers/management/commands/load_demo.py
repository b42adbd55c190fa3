from django.core.management.base import BaseCommand

from transfers.demo import demo_load


class Command(BaseCommand):
    help = (
        "Load the demo data set (the worked example of PRODUCT.md and well-known facts about "
        "ATACMS, Storm Shadow and HIMARS, all cited). Safe to run again: it adds only what is missing."
    )

    def handle(self, *args, **options):
        created = demo_load()
        self.stdout.write(
            self.style.SUCCESS(
                "Demo data loaded: {systems} systems, {sources} sources, {records} records, "
                "{roles} party roles, {facts} system facts created (0 means they were already there).".format(
                    **created
                )
            )
        )
