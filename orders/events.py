"""Event names and the writer of the order timeline and the outbox, in one call."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Model

from omnichannel import outbox
from omnichannel.inserts import insert_all_together
from omnichannel.instances import new
from omnichannel.models import OutboxEvent
from orders.models import Fulfillment, Order, OrderEvent

ORDER_PLACED = "order.placed"
ORDER_CONFIRMED = "order.confirmed"
ORDER_ROUTED = "order.routed"
ORDER_BACKORDERED = "order.backordered"
ORDER_CANCELLED = "order.cancelled"
FULFILLMENT_CREATED = "fulfillment.created"
FULFILLMENT_ACCEPTED = "fulfillment.accepted"
FULFILLMENT_REJECTED = "fulfillment.rejected"
FULFILLMENT_PICKING_STARTED = "fulfillment.picking_started"
FULFILLMENT_PICKED = "fulfillment.picked"
FULFILLMENT_PACKED = "fulfillment.packed"
FULFILLMENT_REPACKED = "fulfillment.repacked"  # packed again: its packages replaced (timeline only)
FULFILLMENT_READY_FOR_PICKUP = "fulfillment.ready_for_pickup"
FULFILLMENT_PICKED_UP = "fulfillment.picked_up"
SHIPMENT_SHIPPED = "shipment.shipped"
SHIPMENT_DELIVERED = "shipment.delivered"
ORDER_STATUS_CHANGED = "order.status_changed"

# Events the outside world hears about (customers by email, channels by webhook).
PUBLIC_EVENTS = {
    ORDER_CONFIRMED, ORDER_CANCELLED, ORDER_BACKORDERED, FULFILLMENT_PICKING_STARTED, SHIPMENT_SHIPPED,
    FULFILLMENT_READY_FOR_PICKUP, FULFILLMENT_PICKED_UP, SHIPMENT_DELIVERED, ORDER_STATUS_CHANGED,
}


def record(order: Order, event_type: str, *, actor: str, fulfillment: Fulfillment | None = None,
           status_from: str = "", status_to: str = "", message: str = "",
           payload: dict[str, Any] | None = None, publish: bool = True) -> OrderEvent:
    """Append to the order's timeline and, when `publish`, to the outbox. Caller holds a transaction."""
    payload = dict(payload or {})
    entry = OrderEvent.objects.create(
        order=order, fulfillment=fulfillment, type=event_type, status_from=status_from, status_to=status_to,
        actor=actor, message=message, payload=payload,
    )
    if publish:
        body = {"order_number": order.number, "order_id": order.pk, "channel_id": order.channel_id,
                "status": order.status, **payload}
        if fulfillment is not None:
            body.setdefault("fulfillment_id", fulfillment.pk)
            body.setdefault("fulfillment_number", fulfillment.number)
        outbox.publish(event_type, "order", order.pk, body)
    return entry


def record_many(order: Order, entries: list[dict[str, Any]], *, actor: str,
                with_rows: Sequence[Sequence[Model]] = ()) -> list[OrderEvent]:
    """Several `record()`s for one order in two INSERTs and one dispatch task. Each entry:
    type, and optionally fulfillment, status_from, status_to, message, payload, publish.
    `with_rows`: other new rows (a list per model) to insert in the same statement."""
    timeline = Timeline()
    rows = timeline.add(order, entries, actor=actor)
    timeline.write(with_rows=with_rows)
    return rows


def _keys(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload with each model instance among its values replaced by its key."""
    if not any(isinstance(value, Model) for value in payload.values()):
        return payload
    return {k: v.pk if isinstance(v, Model) else v for k, v in payload.items()}


class Timeline:
    """Timeline entries (and their outbox events) of one or more orders, written together by
    `write()`: one INSERT for the entries and one for the events, however many orders. What
    an event says (the order's status, say) is taken when it is added; a fulfillment an entry
    names need only be saved by `write()`."""

    def __init__(self) -> None:
        self.rows: list[OrderEvent] = []
        self.published: list[tuple[str, str, Any, dict[str, Any]]] = []

    def add(self, order: Order, entries: list[dict[str, Any]], *, actor: str) -> list[OrderEvent]:
        """Entries as for `record_many`; returns their rows, saved once `write()` ran. A model
        instance among a payload's values stands for its key, read when written (so it may be
        saved after it is added)."""
        rows = [new(OrderEvent, order=order, fulfillment=e.get("fulfillment"), type=e["type"],
                           status_from=e.get("status_from", ""), status_to=e.get("status_to", ""), actor=actor,
                           message=e.get("message", ""), payload=dict(e.get("payload") or {}))
                for e in entries]
        self.rows += rows
        for e in entries:
            if not e.get("publish", True):
                continue
            body = {"order_number": order.number, "order_id": order.pk, "channel_id": order.channel_id,
                    "status": order.status, **(e.get("payload") or {})}
            if (fulfillment := e.get("fulfillment")) is not None:
                body.setdefault("fulfillment_id", fulfillment.pk)
                body.setdefault("fulfillment_number", fulfillment.number)
            self.published.append((e["type"], "order", order.pk, body))
        return rows

    def write(self, *, with_rows: Sequence[Sequence[Model]] = ()) -> None:
        """Insert what was added, and `with_rows` (other new rows, a list per model, which
        the entries' rows may point at), together. Caller holds a transaction."""
        groups, events = self.rows_to_write(with_rows=with_rows)
        insert_all_together(groups)  # one statement on Postgres
        outbox.published(events)

    def rows_to_write(self, *, with_rows: Sequence[Sequence[Model]] = ()) -> tuple[list[Sequence[Model]],
                                                                                  list[OutboxEvent]]:
        """What `write()` inserts, for a caller that inserts it in a statement of its own: the
        rows (a list per model) and, last among them, the outbox events, which the caller hands
        to `outbox.published` once they are inserted."""
        rows, published = self.rows, self.published
        self.rows, self.published = [], []
        link = OrderEvent._meta.get_field("fulfillment")
        for row in rows:  # a fulfillment written after its entry was added (routing many orders)
            fulfillment = link.get_cached_value(row, default=None)
            if fulfillment is not None and row.fulfillment_id is None:
                row.fulfillment_id = fulfillment.pk
            row.payload = _keys(row.payload)
        published = [(t, a, i, _keys(body)) for t, a, i, body in published]
        events = outbox.unsaved(published)
        return [*with_rows, rows, events], events
