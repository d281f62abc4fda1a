"""Celery tasks: take ids, re-fetch, return if stale, call a service."""

from __future__ import annotations

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
    notification = notifications.notification_prepare(event)
    if notification is None:
        return False
    try:
        return notifications.notification_send(notification.pk)
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
