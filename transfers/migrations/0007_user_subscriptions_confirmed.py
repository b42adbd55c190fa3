from django.db import migrations, models
from django.db.models import F


def confirm_existing_user_subscriptions(apps, schema_editor):
    """Users used to be confirmed by their account; now consent is `confirmed_at` for every
    subscriber. Subscriptions of users made before keep getting their reports."""
    Subscription = apps.get_model("transfers", "Subscription")
    Subscription.objects.filter(user__isnull=False, confirmed_at__isnull=True).update(
        confirmed_at=F("created_at")
    )


class Migration(migrations.Migration):
    dependencies = [("transfers", "0006_source_web_urls_only")]
    operations = [
        migrations.AlterField(
            model_name="subscription",
            name="confirmed_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When the subscriber agreed: a user subscribing themselves at once, "
                "an address or an invited user by the mailed link.",
                null=True,
            ),
        ),
        migrations.RunPython(confirm_existing_user_subscriptions, migrations.RunPython.noop),
    ]
