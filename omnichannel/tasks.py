from __future__ import annotations

from datetime import timedelta
from typing import cast

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from omnichannel import idempotency, outbox
from omnichannel.models import OutboxEvent


@shared_task(name="omnichannel.tasks.outbox_dispatch")
def outbox_dispatch(event_id: int) -> None:
    outbox.dispatch(event_id)


@shared_task(name="omnichannel.tasks.outbox_dispatch_many")
def outbox_dispatch_many(event_ids: list[int]) -> None:
    outbox.dispatch_many(event_ids)


@shared_task(name="omnichannel.tasks.outbox_pump")
def outbox_pump(slot: int = 0) -> int:
    """Drain the outbox in claimed batches (woken by outbox._wake_pump)."""
    return outbox.pump(slot)


@shared_task(name="omnichannel.tasks.outbox_sweep")
def outbox_sweep(older_than_s: int = 30, limit: int = 500) -> int:
    """Re-dispatch events left undelivered (worker crash, broker down, handler error)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    ids = list(
        OutboxEvent.objects.filter(dispatched_at__isnull=True, created_at__lt=cutoff, attempts__lt=20)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    for start in range(0, len(ids), 50):
        outbox.dispatch_many(ids[start:start + 50])
    return len(ids)


@shared_task(name="omnichannel.tasks.idempotency_purge")
def idempotency_purge() -> int:
    """Forget `Idempotency-Key` answers older than IDEMPOTENCY_KEY_TTL_HOURS (0: keep them)."""
    hours = float(cast(float, settings.OMNICHANNEL.get("IDEMPOTENCY_KEY_TTL_HOURS", 0)))
    return idempotency.idempotency_purge(older_than=timedelta(hours=hours)) if hours > 0 else 0
