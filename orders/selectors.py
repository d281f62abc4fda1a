from __future__ import annotations

from typing import cast

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from omnichannel.permissions import Principal
from orders.models import Fulfillment, Order, OrderEvent

# A fulfillment in one of these states has left its location: rejected there, or cancelled
# (the order was cancelled, or a count or short pick took its units and the order went on
# elsewhere). Nothing of the order is that location's work any more.
LEFT_THE_LOCATION = (Fulfillment.Status.REJECTED, Fulfillment.Status.CANCELLED)


def order_list(principal: Principal, *, history: bool = False) -> QuerySet[Order]:
    """Orders the caller may see: a channel its own, ops all, floor staff the orders their
    location works on or worked on to the end: one with a fulfillment there that did not
    leave it (not rejected, not cancelled). Once their location rejects its part (the order
    is routed elsewhere) or its part is cancelled, the order is no longer theirs to open,
    list or cancel; their own rejected or cancelled fulfillments stay in `fulfillment_list`.
    `history=True` also keeps the orders where the location's part left it: only for
    answering the caller's own action on the order (the order they have just cancelled)."""
    qs = Order.objects.select_related("customer", "channel", "pickup_location")
    if principal.is_channel:
        return qs.filter(channel_id=principal.channel_id)
    if principal.is_ops:
        return qs
    if principal.is_floor:
        here = Fulfillment.objects.filter(order_id=OuterRef("pk"), location_id=cast(int, principal.location_id))
        if not history:
            here = here.exclude(status__in=LEFT_THE_LOCATION)
        return qs.filter(Exists(here))
    return qs.none()


def order_detail_queryset(principal: Principal, *, history: bool = False) -> QuerySet[Order]:
    """`order_list` with what the order's page shows. Floor staff see their own location's
    part only: its fulfillments, and of the timeline the order's own entries and those of
    their fulfillments, never another location's part, shipment or steps."""
    fulfillments = Fulfillment.objects.select_related("location", "shipment__service__carrier").prefetch_related(
        "allocations__order_line__sku", "packages")
    events = OrderEvent.objects.all()
    if principal.is_floor:
        location_id = cast(int, principal.location_id)
        fulfillments = fulfillments.filter(location_id=location_id)
        events = events.filter(Q(fulfillment__isnull=True) | Q(fulfillment__location_id=location_id))
    return order_list(principal, history=history).prefetch_related(
        "lines__sku", Prefetch("events", queryset=events), Prefetch("fulfillments", queryset=fulfillments))


def fulfillment_list(principal: Principal) -> QuerySet[Fulfillment]:
    """Fulfillments the caller may act on: floor staff their own location's (those it
    rejected or that were cancelled too, as history: `?status=`), ops all."""
    qs = Fulfillment.objects.select_related("order", "location", "shipment")
    if principal.is_ops:
        return qs
    if principal.is_floor:
        return qs.filter(location_id=cast(int, principal.location_id))
    return qs.none()
