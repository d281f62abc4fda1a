"""Inventory's Celery tasks: open the transaction, call a service, return."""

from __future__ import annotations

from celery import shared_task
from django.db import transaction

from inventory import services

BATCH = 500


@shared_task(name="inventory.tasks.release_expired_holds")
def release_expired_holds(max_batches: int = 20) -> int:
    """Release checkout holds whose expiry has passed (beat: every 30 s). Each batch is its
    own short transaction; concurrent runs are safe (each hold is released once, under its
    stock level's lock). Returns the number of holds released."""
    released = 0
    for _ in range(max_batches):
        with transaction.atomic():
            batch = services.holds_release_expired(limit=BATCH)
        released += len(batch)
        if len(batch) < BATCH:
            break
    return released
