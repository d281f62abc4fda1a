from __future__ import annotations

from typing import cast

from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Exists,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Concat

from omnichannel.models import StaffMember
from omnichannel.permissions import Principal
from orders import events as ev
from orders.models import Fulfillment, Order, OrderEvent

# A fulfillment in one of these states has left its location: rejected there, or cancelled
# (the order was cancelled, or a count or short pick took its units and the order went on
# elsewhere). Nothing of the order is that location's work any more.
LEFT_THE_LOCATION = (Fulfillment.Status.REJECTED, Fulfillment.Status.CANCELLED)

# Order-level timeline entries (no fulfillment) that read the same wherever the order is
# fulfilled: floor staff see them whole. Every other order-level entry (routing decisions
# and re-routes, backorders, the promise-risk explanation naming candidate locations, a
# return received at a location, and any type added later) floor staff see redacted: what
# happened, when, and the order's status before and after; not its message or who did it.
# Nor do they see the names of other locations' floor staff, on any entry.
FLOOR_PLAIN_ORDER_EVENTS = (ev.ORDER_PLACED, ev.ORDER_CONFIRMED, ev.ORDER_STATUS_CHANGED, ev.ORDER_CANCELLED,
                            "order.back_on_track")
FLOOR_ACTOR_PREFIXES = ("picker:", "driver:")  # `Principal.actor` of floor staff


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
    part only: its fulfillments, and of the timeline the entries of their fulfillments and
    the order's own entries, those that may say where else the order went redacted
    (`floor_timeline`); never another location's part, shipment or steps. Their orders are
    marked `seen_from_location` (so `at_risk_reason`, which names the locations that cannot
    keep the promise, is shown without them). A channel's timeline entries are marked
    `seen_by_channel`: staff are named by their role only, and staff's own notes on a
    rejection are not shown (`orders.api.serializers.EventOut`)."""
    fulfillments = Fulfillment.objects.select_related("location", "shipment__service__carrier").prefetch_related(
        "allocations__order_line__sku", "packages")
    events = OrderEvent.objects.all()
    orders = order_list(principal, history=history)
    if principal.is_floor:
        location_id = cast(int, principal.location_id)
        fulfillments = fulfillments.filter(location_id=location_id)
        events = floor_timeline(location_id)
        orders = orders.annotate(seen_from_location=Value(True, output_field=BooleanField()))
    elif principal.is_channel:
        events = events.annotate(seen_by_channel=Value(True, output_field=BooleanField()))
    return orders.prefetch_related(
        "lines__sku", Prefetch("events", queryset=events), Prefetch("fulfillments", queryset=fulfillments))


def floor_timeline(location_id: int) -> QuerySet[OrderEvent]:
    """The timeline entries one location's staff may see: those of the location's own
    fulfillments and the order-level ones. An order-level entry not among
    `FLOOR_PLAIN_ORDER_EVENTS` is marked `redacted` (shown without message and actor), and
    any entry done in the name of floor staff of another location `actor_elsewhere` (shown
    without the actor): a re-route after another location's short pick creates this
    location's fulfillment and changes the order's status in that picker's name. Worked out
    in the one query that reads the entries."""
    floor_actor = Q()
    for prefix in FLOOR_ACTOR_PREFIXES:
        floor_actor |= Q(actor__startswith=prefix)
    as_actor = Concat("role", Value(":"), "user__username", output_field=CharField())  # `Principal.actor`
    colleague = Exists(StaffMember.objects.filter(location_id=location_id).annotate(as_actor=as_actor)
                       .filter(as_actor=OuterRef("actor")))
    return OrderEvent.objects.filter(Q(fulfillment__isnull=True) | Q(fulfillment__location_id=location_id)).annotate(
        redacted=_flag(Q(fulfillment__isnull=True) & ~Q(type__in=FLOOR_PLAIN_ORDER_EVENTS)),
        actor_elsewhere=_flag(floor_actor & ~Q(colleague)))


def _flag(condition: Q) -> Case:
    return Case(When(condition, then=Value(True)), default=Value(False), output_field=BooleanField())


def fulfillment_list(principal: Principal) -> QuerySet[Fulfillment]:
    """Fulfillments the caller may act on: floor staff their own location's (those it
    rejected or that were cancelled too, as history: `?status=`), ops all."""
    qs = Fulfillment.objects.select_related("order", "location", "shipment")
    if principal.is_ops:
        return qs
    if principal.is_floor:
        return qs.filter(location_id=cast(int, principal.location_id))
    return qs.none()
