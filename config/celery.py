"""The Celery application. Broker and schedule come from Django settings (CELERY_* names)."""

import os
import warnings

from celery import Celery
from celery.exceptions import SecurityWarning

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

if os.environ.get("STOCKPILE_DEBUG", "true").lower() in ("1", "true", "yes", "on"):
    # On a laptop (debug, the default) bin/run may well run as root, in a container or a VM;
    # Celery's "running the worker with superuser privileges" warning is then noise on every
    # start. In production (STOCKPILE_DEBUG=false) it is kept.
    warnings.filterwarnings("ignore", category=SecurityWarning)

app = Celery("stockpile")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
