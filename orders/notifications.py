"""Customer notifications: what the customer hears, and when. One per event and medium."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import F
from django.utils import timezone

from omnichannel import rawsql
from omnichannel.inserts import insert_unless_conflict
from omnichannel.models import OutboxEvent
from orders import events
from orders.models import Customer, CustomerNotification, Order

TEMPLATES: dict[str, tuple[str, str]] = {
    events.ORDER_CONFIRMED: ("We have your order {number}",
                             "Hello {name},\n\nThank you: order {number} is confirmed. We will tell you as soon as "
                             "we start preparing it."),
    events.FULFILLMENT_PICKING_STARTED: ("Your order {number} is being prepared",
                                         "Hello {name},\n\nYour order {number} is being prepared right now at "
                                         "{location}."),
    events.SHIPMENT_SHIPPED: ("Your order {number} is on its way",
                              "Hello {name},\n\nYour order {number} is on its way with {carrier}. "
                              "Tracking number: {tracking_number}."),
    events.FULFILLMENT_READY_FOR_PICKUP: ("Your order {number} is ready for pickup",
                                          "Hello {name},\n\nYour order {number} is ready for pickup at {location}. "
                                          "Show this code at the counter: {pickup_code}."),
    events.SHIPMENT_DELIVERED: ("Your order {number} has been delivered",
                                "Hello {name},\n\nYour order {number} has been delivered. Enjoy!"),
    events.FULFILLMENT_PICKED_UP: ("Thanks for collecting order {number}",
                                   "Hello {name},\n\nYou collected order {number}. Enjoy!"),
    events.ORDER_CANCELLED: ("Your order {number} has been cancelled",
                             "Hello {name},\n\nYour order {number} has been cancelled. {reason}"),
}


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def notification_prepare(event: OutboxEvent) -> tuple[CustomerNotification | None, bool]:
    """Write the notification row for an event once (the unique constraint makes a second
    run a no-op). Returns it when there is something to send, and whether this call claimed
    it: a new row is written already claimed (`sending`), so the caller sends it without
    claiming it again; an existing one is returned unclaimed, for `notification_send`."""
    if event.type not in TEMPLATES:
        return None, False
    order = _order_with_customer(event.payload.get("order_id"))
    if order is None or not order.customer.email:
        return None, False
    subject, body = TEMPLATES[event.type]
    context = _Blank(event.payload, number=order.number, name=order.customer.name or "there")
    if "location" not in event.payload and event.payload.get("fulfillment_id"):
        context["location"] = order.fulfillments.filter(pk=event.payload["fulfillment_id"]).values_list(
            "location__name", flat=True).first() or ""
    notification = CustomerNotification(
        event=event, order=order, kind=event.type, medium="email", recipient=order.customer.email,
        subject=subject.format_map(context), body=body.format_map(context),
        status=CustomerNotification.Status.SENDING)
    if insert_unless_conflict(notification, ["event", "medium"]):
        return notification, True
    return CustomerNotification.objects.filter(event=event, medium="email").first(), False


def _order_with_customer(order_id) -> Order | None:
    """Written out (omnichannel.rawsql): every order's confirmation reads it."""
    try:
        order_id = int(order_id)
    except (TypeError, ValueError):
        return None
    sql = (f"SELECT {rawsql.columns(Order, 'o')}, {rawsql.columns(Customer, 'c')} "  # noqa: S608
           f"FROM {rawsql.table(Order)} o JOIN {rawsql.table(Customer)} c "
           f"ON c.{rawsql.column(Customer, 'id')} = o.{rawsql.column(Order, 'customer')} "
           f"WHERE o.{rawsql.column(Order, 'id')} = %s")
    rows = rawsql.fetch(sql, [order_id])
    if not rows:
        return None
    order, order.customer = rawsql.split(rows[0], Order, Customer)
    return order


def notification_deliver(event: OutboxEvent) -> bool:
    """Write the event's notification once and send it unless already sent. Raises when
    sending fails (the row is left `failed` for a retry)."""
    notification, claimed = notification_prepare(event)
    if notification is None:
        return False
    return notification_send(notification, claimed=claimed)


def notification_send(notification: CustomerNotification, *, claimed: bool = False) -> bool:
    """Send a prepared notification unless already sent. The row is claimed with a
    conditional update, so two workers never both send it (`claimed`: the caller holds the
    claim already, as `notification_prepare` gives it for a new row). What is sent (subject,
    body, recipient) never changes once written, so the row as prepared is sent."""
    notification_id = notification.pk
    if not claimed and not CustomerNotification.objects.filter(
            pk=notification_id, status__in=[CustomerNotification.Status.PENDING, CustomerNotification.Status.FAILED]
    ).update(status=CustomerNotification.Status.SENDING):
        return False
    try:
        send_mail(notification.subject, notification.body, settings.DEFAULT_FROM_EMAIL, [notification.recipient])
    except Exception as exc:
        CustomerNotification.objects.filter(pk=notification_id).update(
            status=CustomerNotification.Status.FAILED, attempts=F("attempts") + 1, last_error=repr(exc))
        raise
    rawsql.update(CustomerNotification, [notification_id],
                  {"status": CustomerNotification.Status.SENT, "sent_at": timezone.now()}, add={"attempts": 1})
    return True
