"""The paths back to the router: stock that vanished under a fulfillment, fulfillments
nobody accepted in time, and backordered orders when stock may have arrived."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from inventory import selectors as inventory_selectors
from orders import events
from orders.models import Allocation, Fulfillment, Order, OrderLine
from orders.services import capacity
from orders.services.status import refresh_order_status

S = Fulfillment.Status
BEFORE_PICKING = {S.PENDING, S.ACCEPTED}


def allocations_released(reservation_ids: list[int], *, reason: str, actor: str) -> set[int]:
    """Inventory released these reservations (a count found less stock). Their allocations
    stop counting; a fulfillment left with nothing is cancelled. Returns the order ids to
    route again. Caller holds a transaction."""
    allocations = list(Allocation.objects.filter(reservation_id__in=reservation_ids, is_active=True)
                       .select_related("fulfillment", "order_line__order"))
    if not allocations:
        return set()
    Allocation.objects.filter(pk__in=[a.pk for a in allocations]).update(is_active=False)
    orders: set[int] = set()
    for fulfillment in {a.fulfillment for a in allocations if a.fulfillment is not None}:
        if not fulfillment.allocations.filter(is_active=True).exists() and fulfillment.status in BEFORE_PICKING:
            old = fulfillment.status
            Fulfillment.objects.filter(pk=fulfillment.pk).update(status=S.CANCELLED)
            capacity.fulfillments_dropped([(fulfillment.location_id, fulfillment.created_at)])
            events.record(fulfillment.order, "fulfillment.cancelled", actor=actor, fulfillment=fulfillment,
                          status_from=old, status_to=S.CANCELLED, message=f"Stock gone ({reason})", publish=False)
    for alloc in allocations:
        orders.add(alloc.order_line.order_id)
    for order in Order.objects.filter(pk__in=orders):
        refresh_order_status(order, actor=actor)
    return orders


def stale_pending_fulfillments(older_than: timedelta, limit: int = 200) -> list[int]:
    cutoff = timezone.now() - older_than
    return list(Fulfillment.objects.filter(status=S.PENDING, created_at__lt=cutoff).order_by("created_at")
                .values_list("pk", flat=True)[:limit])


def has_stock_for_backorder(order: Order) -> bool:
    """Some eligible location now has one of the order's missing SKUs available."""
    skus = set(OrderLine.objects.filter(order=order, backordered_quantity__gt=0).values_list("sku_id", flat=True))
    if not skus:
        return False
    locations = inventory_selectors.locations_for_method(order.delivery_method, order.pickup_location_id)
    return bool(inventory_selectors.stock_rows(skus, locations.values_list("pk", flat=True)))


def backordered_orders(limit: int = 500) -> list[Order]:
    """Orders waiting for units, oldest first."""
    return list(Order.objects.filter(Q(status=Order.Status.BACKORDERED) | Q(lines__backordered_quantity__gt=0))
                .exclude(status=Order.Status.CANCELLED).distinct().order_by("placed_at", "pk")[:limit])
