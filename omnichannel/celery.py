"""The Celery app. Queues: routing, notifications, channels, default."""

import os

from celery import Celery
from celery.signals import celeryd_after_setup, task_postrun, task_prerun, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omnichannel.settings")

app = Celery("omnichannel")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@celeryd_after_setup.connect
def _remember_queues(sender=None, instance=None, **_: object) -> None:
    """The queues this worker consumes (`-Q`), so outbox handlers know which tasks it would
    run itself (outbox.runs_here). A worker started without `-Q` is left unknown: it enqueues."""
    from omnichannel import outbox

    consume_from = instance.app.amqp.queues.consume_from if instance is not None else None
    outbox.worker_queues_set(consume_from.keys() if consume_from else ())


@worker_process_init.connect
def _tune_worker_process(**_: object) -> None:
    """Each worker process, once forked and loaded: the same collector tuning as the web."""
    from omnichannel.runtime import tune_gc

    tune_gc()


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(task=None, **_: object) -> None:
    """What Django does around a request: drop a connection past CONN_MAX_AGE or left
    unusable by an error. (Celery's fixup only recycles every CELERY_DB_REUSE_MAX tasks.)
    Not for a task run eagerly: that one runs inside its caller's connection and transaction."""
    from django.db import close_old_connections

    if task is None or getattr(task.request, "is_eager", False):
        return
    close_old_connections()
