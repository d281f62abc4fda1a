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
from warehouse import services as warehouse_services

S = Fulfillment.Status
# A fulfillment left with no units by a count is cancelled while it is still to pick or on
# its pick walk (as a short pick cancels one: orders.services.floor.fulfillment_short).
LEFT_WITH_NOTHING_CANCELLED = {S.PENDING, S.ACCEPTED, S.PICKING}


def allocations_released(reservation_ids: list[int], *, reason: str, actor: str) -> set[int]:
    """Inventory released these reservations (a count found less stock). Their allocations
    stop counting; a fulfillment left with nothing, still to pick or being picked, is
    cancelled and taken off its location's floor at once
    (`warehouse.services.pick_work_withdraw`: its tote leaves any walk, units already picked
    are listed to put back, a list left with nothing to pick is done). Returns the order ids
    to route again. Caller holds a transaction.

    Runs after the count has committed (its `inventory.reservations_released` event): the
    count locks the stock level before it knows whose reservations do not fit, so it cannot
    take their orders' locks first (docs/adr/0004). Here, with no stock level held, the
    orders are locked first (pk order), then their fulfillments, then bins and pick lists
    (docs/adr/0005), as a pick or a short pick takes them; so the statuses read below cannot
    change under it (a first scan starting the picking waits, or is refused once the tote
    is off the walk)."""
    order_ids = sorted(set(Allocation.objects.filter(reservation_id__in=reservation_ids, is_active=True)
                           .values_list("order_line__order_id", flat=True)))
    if not order_ids:
        return set()
    list(Order.objects.select_for_update().filter(pk__in=order_ids).order_by("pk"))
    allocations = list(Allocation.objects.filter(reservation_id__in=reservation_ids, is_active=True)
                       .select_related("order_line"))
    if not allocations:  # another transaction released them while this one waited
        return set()
    held = sorted({a.fulfillment_id for a in allocations if a.fulfillment_id is not None})
    fulfillments = list(Fulfillment.objects.select_for_update(of=("self",)).select_related("order")
                        .filter(pk__in=held).order_by("pk"))
    Allocation.objects.filter(pk__in=[a.pk for a in allocations]).update(is_active=False)
    cancelled = [f for f in fulfillments
                 if f.status in LEFT_WITH_NOTHING_CANCELLED and not f.allocations.filter(is_active=True).exists()]
    for fulfillment in cancelled:
        old = fulfillment.status
        Fulfillment.objects.filter(pk=fulfillment.pk).update(status=S.CANCELLED)
        fulfillment.status = S.CANCELLED
        events.record(fulfillment.order, "fulfillment.cancelled", actor=actor, fulfillment=fulfillment,
                      status_from=old, status_to=S.CANCELLED, message=f"Stock gone ({reason})", publish=False)
    capacity.fulfillments_dropped([(f.location_id, f.created_at) for f in cancelled])
    warehouse_services.pick_work_withdraw([f.pk for f in cancelled], actor=actor)
    orders = {alloc.order_line.order_id for alloc in allocations}
    for order in Order.objects.filter(pk__in=orders).order_by("pk"):
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
