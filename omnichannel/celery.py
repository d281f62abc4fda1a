"""The Celery app. Queues: routing, notifications, channels, default."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omnichannel.settings")

app = Celery("omnichannel")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
