"""Customer notifications: what the customer hears, and when. One per event and medium.

They go to the contact the order was placed with (`Order.contact_*`), not to the unified
customer record: that one may hold an email another channel was given (a marketplace's
buyer is reached at the address the marketplace passed on, and a phone matched to another
record must not send this order's pickup code to someone else's mailbox). An order placed
without an email gets no email."""

from __future__ import annotations

import logging
from typing import cast

from django.conf import settings
from django.core.mail import EmailMessage, get_connection, send_mail
from django.db.models import F
from django.utils import timezone

from omnichannel import rawsql
from omnichannel.inserts import insert_many_unless_conflict, insert_unless_conflict
from omnichannel.instances import new
from omnichannel.models import OutboxEvent
from orders import events
from orders.models import CustomerNotification, Order

logger = logging.getLogger(__name__)

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
    notification = _notification_for(event, _order(event.payload.get("order_id")))
    if notification is None:
        return None, False
    if insert_unless_conflict(notification, ["event", "medium"]):
        return notification, True
    return CustomerNotification.objects.filter(event=event, medium="email").first(), False


def _notification_for(event: OutboxEvent, order: Order | None) -> CustomerNotification | None:
    """The email an event gives (unsaved, already claimed: `sending`), or None: nothing to send."""
    if event.type not in TEMPLATES or order is None or not order.contact_email:
        return None
    subject, body = TEMPLATES[event.type]
    context = _Blank(event.payload, number=order.number, name=order.contact_name or "there")
    if "location" not in event.payload and event.payload.get("fulfillment_id"):
        context["location"] = order.fulfillments.filter(pk=event.payload["fulfillment_id"]).values_list(
            "location__name", flat=True).first() or ""
    return new(
        CustomerNotification, event=event, order=order, kind=event.type, medium="email", recipient=order.contact_email,
        subject=subject.format_map(context), body=body.format_map(context),
        status=CustomerNotification.Status.SENDING)


def _order_id(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _order(order_id) -> Order | None:
    found = _orders([order_id])
    return next(iter(found.values()), None)


def _orders(order_ids) -> dict[int, Order]:
    """Written out (omnichannel.rawsql): every order's confirmation reads it."""
    ids = sorted({pk for pk in map(_order_id, order_ids) if pk is not None})
    if not ids:
        return {}
    params: list[int] = []
    where = f"WHERE {rawsql.in_list('t.' + rawsql.column(Order, 'id'), ids, params)}"
    return {order.pk: order for order in rawsql.instances(Order, where, params)}


def notifications_deliver_many(events_: list[OutboxEvent]) -> list[OutboxEvent]:
    """`notification_deliver` for several events: their orders read in one query, their
    new emails written in one INSERT (already claimed), sent over one mail connection and
    marked sent in one UPDATE. An email already written (a second run) goes through
    `notification_deliver`. Returns the events whose email could not be sent: their rows
    are left `failed`, for the task's retries."""
    wanted = [event for event in events_ if event.type in TEMPLATES]
    orders = cast("dict[int | None, Order]",  # read with the ids of `_order_id`, None included
                  _orders([event.payload.get("order_id") for event in wanted]))
    built = [(event, notification) for event in wanted
             if (notification := _notification_for(event, orders.get(_order_id(event.payload.get("order_id")))))]
    fresh = {id(notification) for notification in
             insert_many_unless_conflict([notification for _, notification in built], ["event", "medium"])}
    unsent: list[OutboxEvent] = []
    sent: list[int] = []
    pending = [(event, notification) for event, notification in built if id(notification) in fresh]
    if pending:
        mail = get_connection()
        try:
            mail.open()
        except Exception as exc:  # no mail server: every email of the batch fails, for the retries
            logger.exception("opening the mail connection failed")
            for event, notification in pending:
                _failed(notification.pk, exc)
                unsent.append(event)
        else:
            try:
                for event, notification in pending:
                    try:
                        mail.send_messages([EmailMessage(notification.subject, notification.body,
                                                         settings.DEFAULT_FROM_EMAIL, [notification.recipient])])
                    except Exception as exc:
                        logger.exception("sending notification %s failed", notification.pk)
                        _failed(notification.pk, exc)
                        unsent.append(event)
                    else:
                        sent.append(notification.pk)
            finally:
                mail.close()
    if sent:
        rawsql.update(CustomerNotification, sent, {"status": CustomerNotification.Status.SENT,
                                                   "sent_at": timezone.now()}, add={"attempts": 1})
    for event, notification in built:
        if id(notification) not in fresh:
            try:
                notification_deliver(event)
            except Exception:
                logger.exception("sending the notification of event %s failed", event.pk)
                unsent.append(event)
    return unsent


def _failed(notification_id: int, exc: Exception) -> None:
    CustomerNotification.objects.filter(pk=notification_id).update(
        status=CustomerNotification.Status.FAILED, attempts=F("attempts") + 1, last_error=repr(exc))


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
        _failed(notification_id, exc)
        raise
    rawsql.update(CustomerNotification, [notification_id],
                  {"status": CustomerNotification.Status.SENT, "sent_at": timezone.now()}, add={"attempts": 1})
    return True
