"""Orders' reactions to domain events (its own and lower apps'). Each handler enqueues a
task (idempotent), or, in a worker that consumes that task's queue anyway, does its work
at once (`outbox.runs_here`) and enqueues it only if that fails, so the task's retries
still apply."""

from __future__ import annotations

import logging

from django.db import transaction

from omnichannel import outbox
from omnichannel.models import OutboxEvent
from orders import events
from orders.notifications import TEMPLATES

logger = logging.getLogger(__name__)


def route_on_placed_many(events_: list[OutboxEvent]) -> None:
    """`route_on_placed` for a batch: in a worker that routes, all the orders in one
    transaction (`orders_route_many`); if that fails, each on its own."""
    from orders import services
    from orders.tasks import order_route_task

    if len(events_) > 1 and outbox.runs_here(order_route_task):
        order_ids = [event.payload["order_id"] for event in events_]
        try:
            with transaction.atomic():
                services.orders_route_many(order_ids, trigger="placed")
            return
        except Exception:
            logger.exception("routing orders %s together failed; routing each on its own", order_ids)
    for event in events_:
        route_on_placed(event)


@outbox.batched(route_on_placed_many)
def route_on_placed(event: OutboxEvent) -> None:
    from orders import services
    from orders.tasks import order_route_task

    order_id = event.payload["order_id"]
    if outbox.runs_here(order_route_task):
        try:
            with transaction.atomic():
                services.order_route(order_id, trigger="placed")
            return
        except Exception:
            logger.exception("routing order %s here failed; enqueued for the routing task's retries", order_id)
    order_route_task.delay(order_id, "placed")


def reroute_on_rejected(event: OutboxEvent) -> None:
    from orders.tasks import order_route_task

    order_route_task.delay(event.payload["order_id"], "rejected")


def notify_customers(events_: list[OutboxEvent]) -> None:
    """`notify_customer` for a batch: in a worker that sends notifications, every email
    written in one statement and marked sent in another; what could not be sent is left to
    the task's retries."""
    from orders import notifications
    from orders.tasks import customer_notification_task

    if len(events_) > 1 and outbox.runs_here(customer_notification_task):
        try:
            unsent = notifications.notifications_deliver_many(events_)
        except Exception:
            logger.exception("notifying for events %s together failed; enqueued for the task's retries",
                             [event.pk for event in events_])
            unsent = events_
        for event in unsent:
            customer_notification_task.delay(event.pk)
        return
    for event in events_:
        notify_customer(event)


@outbox.batched(notify_customers)
def notify_customer(event: OutboxEvent) -> None:
    from orders import notifications
    from orders.tasks import customer_notification_task

    if outbox.runs_here(customer_notification_task):
        try:
            notifications.notification_deliver(event)
            return
        except Exception:
            logger.exception("notifying for event %s here failed; enqueued for the task's retries", event.pk)
    customer_notification_task.delay(event.pk)


def delivered_on_tracking(event: OutboxEvent) -> None:
    if event.payload.get("status") != "delivered":
        return
    from orders.tasks import shipment_delivered_task

    shipment_delivered_task.delay(event.payload["shipment_id"], event.payload.get("occurred_at"))


def reroute_on_stock_released(event: OutboxEvent) -> None:
    ids = [r["id"] for r in event.payload.get("reservations", []) if r.get("reference_type") == "order_line"]
    if not ids:
        return
    from orders.tasks import reroute_after_stock_released

    reroute_after_stock_released.delay(ids, event.payload.get("reason", "count"))


def register_all() -> None:
    outbox.register("inventory.reservations_released", reroute_on_stock_released)
    outbox.register(events.ORDER_PLACED, route_on_placed)
    outbox.register(events.FULFILLMENT_REJECTED, reroute_on_rejected)
    outbox.register("shipment.tracking_updated", delivered_on_tracking)
    for event_type in TEMPLATES:
        outbox.register(event_type, notify_customer)
