"""Orders' reactions to domain events (its own and lower apps'). Each handler only
enqueues a task; the tasks are idempotent."""

from __future__ import annotations

from omnichannel import outbox
from omnichannel.models import OutboxEvent
from orders import events
from orders.notifications import TEMPLATES


def route_on_placed(event: OutboxEvent) -> None:
    from orders.tasks import order_route_task

    order_route_task.delay(event.payload["order_id"], "placed")


def reroute_on_rejected(event: OutboxEvent) -> None:
    from orders.tasks import order_route_task

    order_route_task.delay(event.payload["order_id"], "rejected")


def notify_customer(event: OutboxEvent) -> None:
    from orders.tasks import customer_notification_task

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
