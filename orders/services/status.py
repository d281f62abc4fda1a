"""The order's status follows from its fulfillments and what is still unrouted."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Sum

from omnichannel import rawsql
from orders import events
from orders.models import Allocation, Fulfillment, Order, OrderLine

F = Fulfillment.Status
LIVE = {F.PENDING, F.ACCEPTED, F.PICKING, F.PICKED, F.PACKED, F.SHIPPED, F.DELIVERED, F.READY_FOR_PICKUP,
        F.PICKED_UP}
STARTED = {F.PICKING, F.PICKED, F.PACKED}
DONE = {F.DELIVERED, F.PICKED_UP}


@dataclass(frozen=True)
class Known:
    """What a caller already holds in memory (the router, say), so deriving the status need
    not read it again: every fulfillment's status, the order's lines (with backorders) and
    how many units are in no fulfillment."""

    statuses: list[str]
    lines: list[OrderLine]
    unrouted: int


def unrouted_units(order: Order) -> int:
    wanted = order.lines.aggregate(total=Sum("quantity"))["total"] or 0
    placed = (Allocation.objects.filter(order_line__order=order, is_active=True, fulfillment__isnull=False)
              .aggregate(total=Sum("quantity"))["total"] or 0)
    return wanted - placed


def derive_status(order: Order, known: Known | None = None) -> str:
    if order.status == Order.Status.CANCELLED:
        return order.status
    every = known.statuses if known else order.fulfillments.values_list("status", flat=True)
    statuses = [s for s in every if s in LIVE]
    unrouted = known.unrouted if known else unrouted_units(order)
    if not statuses:
        if known:
            backordered = any(line.backordered_quantity > 0 for line in known.lines)
        else:
            backordered = order.lines.filter(backordered_quantity__gt=0).exists()
        return Order.Status.BACKORDERED if backordered else Order.Status.PLACED
    if all(s in DONE | {F.SHIPPED, F.READY_FOR_PICKUP} for s in statuses) and unrouted:
        return Order.Status.BACKORDERED  # units still to route: the router must not take it for finished
    if all(s in DONE for s in statuses):
        return Order.Status.PICKED_UP if all(s == F.PICKED_UP for s in statuses) else Order.Status.DELIVERED
    if all(s in DONE | {F.SHIPPED} for s in statuses):
        return Order.Status.SHIPPED
    if all(s in DONE | {F.SHIPPED, F.READY_FOR_PICKUP} for s in statuses):
        return Order.Status.READY_FOR_PICKUP
    if any(s in STARTED | DONE | {F.SHIPPED, F.READY_FOR_PICKUP} for s in statuses):
        return Order.Status.IN_PROGRESS
    return Order.Status.ALLOCATED


def refresh_order_status(order: Order, *, actor: str, announce: bool = True, known: Known | None = None,
                         store: Callable[[Order, str], None] | None = None) -> str:
    """Store the derived status; when it changed and `announce`, write `order.status_changed`.
    `store(order, status)`: a caller that writes the change itself, later in its transaction.
    Caller holds a transaction (and normally the order's row lock)."""
    new = derive_status(order, known)
    old = order.status
    if new != old:
        if store is not None:
            store(order, new)
        else:
            rawsql.update(Order, [order.pk], {"status": new})  # every status change of every order
        order.status = new
        if announce:
            events.record(order, events.ORDER_STATUS_CHANGED, actor=actor, status_from=old, status_to=new,
                          publish=False)
    return new
