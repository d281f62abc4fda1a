"""Celery tasks: take ids, re-fetch, return if stale, call a service."""

from __future__ import annotations

from typing import cast

from celery import shared_task
from django.db import OperationalError, transaction
from django.utils.dateparse import parse_datetime

from omnichannel.models import OutboxEvent
from orders import notifications, services
from orders.models import Fulfillment


@shared_task(name="orders.tasks.order_route_task", bind=True, max_retries=5,
             autoretry_for=(OperationalError,), retry_backoff=True, retry_backoff_max=30)
def order_route_task(self, order_id: int, trigger: str = "placed") -> str | None:
    with transaction.atomic():
        decision = services.order_route(order_id, trigger=trigger)
    return decision.outcome if decision else None


@shared_task(name="orders.tasks.customer_notification_task", bind=True, max_retries=8,
             retry_backoff=True, retry_backoff_max=600)
def customer_notification_task(self, event_id: int) -> bool:
    event = OutboxEvent.objects.filter(pk=event_id).first()
    if event is None:
        return False
    try:
        return notifications.notification_deliver(event)
    except Exception as exc:
        raise self.retry(exc=exc) from exc


@shared_task(name="orders.tasks.shipment_delivered_task", bind=True, max_retries=5,
             autoretry_for=(OperationalError,), retry_backoff=True)
def shipment_delivered_task(self, shipment_id: int, occurred_at: str | None = None) -> bool:
    fulfillment_id = Fulfillment.objects.filter(shipment_id=shipment_id).values_list("pk", flat=True).first()
    if fulfillment_id is None:
        return False
    with transaction.atomic():
        fulfillment = services.fulfillment_lock(fulfillment_id)
        return services.fulfillment_mark_delivered(
            fulfillment, actor="carrier", occurred_at=parse_datetime(occurred_at) if occurred_at else None) is not None


@shared_task(name="orders.tasks.reroute_after_stock_released", bind=True, max_retries=5,
             autoretry_for=(OperationalError,), retry_backoff=True)
def reroute_after_stock_released(self, reservation_ids: list[int], reason: str = "count") -> int:
    from orders.services.reroute import allocations_released

    with transaction.atomic():
        order_ids = allocations_released(reservation_ids, reason=reason, actor="inventory")
    for order_id in sorted(order_ids):
        order_route_task.delay(order_id, "stock_correction")
    return len(order_ids)


@shared_task(name="orders.tasks.reroute_unaccepted_fulfillments")
def reroute_unaccepted_fulfillments() -> int:
    """Fulfillments nobody accepted within ACCEPT_TIMEOUT_MINUTES go back to the router."""
    from datetime import timedelta

    from django.conf import settings

    from orders.services.reroute import stale_pending_fulfillments

    minutes = cast(int, settings.OMNICHANNEL["ACCEPT_TIMEOUT_MINUTES"])
    done = 0
    for fulfillment_id in stale_pending_fulfillments(timedelta(minutes=minutes)):
        with transaction.atomic():
            fulfillment = services.fulfillment_lock(fulfillment_id)
            if fulfillment.status != Fulfillment.Status.PENDING:
                continue
            services.fulfillment_reject(fulfillment, reason="timeout", actor="system",
                                        note=f"Not accepted within {minutes} minutes")
            done += 1
    return done


@shared_task(name="orders.tasks.reroute_backordered")
def reroute_backordered(limit: int = 100) -> int:
    """Backordered orders, oldest first, get another routing run when stock for them is
    there (checked again before each, so an older order's win is seen by the next).
    Returns how many made progress."""
    from orders.services.reroute import backordered_orders, has_stock_for_backorder

    progressed = 0
    for order in backordered_orders():
        if progressed >= limit:
            break
        if not has_stock_for_backorder(order):
            continue
        with transaction.atomic():
            decision = services.order_route(order.pk, trigger="backorder_retry")
        progressed += int(decision is not None and decision.outcome != "backordered")
    return progressed
