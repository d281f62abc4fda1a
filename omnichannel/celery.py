"""The Celery app. Queues: routing, notifications, channels, default."""

import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omnichannel.settings")

app = Celery("omnichannel")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _tune_worker_process(**_: object) -> None:
    """Each worker process, once forked and loaded: the same collector tuning as the web."""
    from omnichannel.runtime import tune_gc

    tune_gc()
