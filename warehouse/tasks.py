"""Celery tasks of the floor: take ids or nothing, re-fetch, call a service."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from warehouse.services.pickup import pickups_cancel_uncollected


@shared_task(name="warehouse.tasks.cancel_uncollected_pickups")
def cancel_uncollected_pickups(limit: int = 200) -> int:
    """Pickups not collected within their channel's pickup_hold_days are cancelled (units
    released, customer told). Beat: hourly."""
    return len(pickups_cancel_uncollected(timezone.now(), limit=limit))
