from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Subscriptions, their deliveries and the report emails sent by Celery beat."""

    name = "reports"
    verbose_name = "Report emails"
