"""The paths back to the router: stock that vanished under a fulfillment, fulfillments
nobody accepted in time, and backordered orders when stock may have arrived."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from inventory import selectors as inventory_selectors
from orders import events
from orders.models import Allocation, Fulfillment, Order, OrderLine
from orders.services import capacity
from orders.services.allocation import candidate_locations
from orders.services.fulfillment import fulfillment_mark_picked
from orders.services.status import refresh_order_status
from warehouse import services as warehouse_services
from warehouse.services import putback

logger = logging.getLogger(__name__)

S = Fulfillment.Status
# A fulfillment left with no units by a count is cancelled while it is still to pick or on
# its pick walk (as a short pick cancels one: orders.services.floor.fulfillment_short).
LEFT_WITH_NOTHING_CANCELLED = {S.PENDING, S.ACCEPTED, S.PICKING}
# Picking finished: a count takes these units as found and does not release them, but one that
# read the floor just before the last pick committed may have. Left with nothing, such a
# fulfillment is cancelled as an order cancelled after its picking is: units back, packages voided.
PICKING_FINISHED = Fulfillment.PICKING_FINISHED
# Statuses in which the location may have picks (or picked units) for a fulfillment's lines.
ON_THE_FLOOR = {S.ACCEPTED, S.PICKING} | PICKING_FINISHED
FULFILLMENT_LINES_RELEASED = "fulfillment.lines_released"


def allocations_released(reservation_ids: list[int], *, reason: str, actor: str) -> set[int]:
    """Inventory released these reservations (a count found less stock). Their allocations
    stop counting. A fulfillment left with nothing, still to pick or being picked, is
    cancelled and taken off its location's floor at once
    (`warehouse.services.pick_work_withdraw`: its tote leaves any walk, units already picked
    are listed to put back, a list left with nothing to pick is done); one whose picking had
    finished is cancelled with its units put back (`bins_put_back_cancelled`). A fulfillment
    that keeps other lines goes on with them: the released lines' picks leave the walk and
    units picked for them are listed to put back (`putback.pick_lines_withdraw`), one being
    picked with nothing left to pick is picked, and its timeline says so. Returns the order
    ids to route again. Caller holds a transaction.

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
                       .select_related("order_line__sku"))
    if not allocations:  # another transaction released them while this one waited
        return set()
    held = sorted({a.fulfillment_id for a in allocations if a.fulfillment_id is not None})
    fulfillments = list(Fulfillment.objects.select_for_update(of=("self",)).select_related("order")
                        .filter(pk__in=held).order_by("pk"))
    Allocation.objects.filter(pk__in=[a.pk for a in allocations]).update(is_active=False)
    holding = _units_held(held)
    _cancel_emptied([f for f in fulfillments if not holding.get(f.pk)], reason=reason, actor=actor)
    for fulfillment in fulfillments:
        if holding.get(fulfillment.pk):
            _lines_released(fulfillment, [a for a in allocations if a.fulfillment_id == fulfillment.pk],
                            holding[fulfillment.pk], reason=reason, actor=actor)
    orders = {alloc.order_line.order_id for alloc in allocations}
    for order in Order.objects.filter(pk__in=orders).order_by("pk"):
        refresh_order_status(order, actor=actor)
    return orders


def _units_held(fulfillment_ids: list[int]) -> dict[int, dict[int, int]]:
    """Fulfillment id -> order line id -> units it still holds (its active allocations)."""
    units: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for fulfillment_id, line_id, quantity in (Allocation.objects.filter(fulfillment_id__in=fulfillment_ids,
                                                                        is_active=True)
                                              .values_list("fulfillment_id", "order_line_id", "quantity")):
        units[fulfillment_id][line_id] += quantity
    return units


def _cancel_emptied(fulfillments: list[Fulfillment], *, reason: str, actor: str) -> None:
    """Cancel the fulfillments a count left with nothing and take them off their floor. Caller
    holds their orders' and their own locks."""
    cancelled = [f for f in fulfillments if f.status in LEFT_WITH_NOTHING_CANCELLED | PICKING_FINISHED]
    walked = [f.pk for f in cancelled if f.status in LEFT_WITH_NOTHING_CANCELLED]
    finished = [f.pk for f in cancelled if f.status in PICKING_FINISHED]
    for fulfillment in cancelled:
        old = fulfillment.status
        Fulfillment.objects.filter(pk=fulfillment.pk).update(status=S.CANCELLED)
        fulfillment.status = S.CANCELLED
        events.record(fulfillment.order, "fulfillment.cancelled", actor=actor, fulfillment=fulfillment,
                      status_from=old, status_to=S.CANCELLED, message=f"Stock gone ({reason})", publish=False)
    capacity.fulfillments_dropped([(f.location_id, f.created_at) for f in cancelled])
    warehouse_services.pick_work_withdraw(walked, actor=actor)
    if finished:
        warehouse_services.bins_put_back_cancelled(finished, actor=actor)


def _lines_released(fulfillment: Fulfillment, gone: list[Allocation], holding: dict[int, int], *, reason: str,
                    actor: str) -> None:
    """Some lines of a fulfillment that keeps others were released by a count: on its floor,
    their picks leave the walk and units picked for them are listed to put back; one being
    picked that has nothing left to pick is picked; the timeline says what happened. Caller
    holds the order's and the fulfillment's locks."""
    units: dict[str, int] = defaultdict(int)
    for alloc in gone:
        units[alloc.order_line.sku.code] += alloc.quantity
    what = ", ".join(f"{n} x {code}" for code, n in sorted(units.items()))
    message = f"{what} no longer held here: a stock count found too few ({reason})"
    cut, back = 0, 0
    if fulfillment.status in ON_THE_FLOOR:
        keep = {alloc.order_line_id: holding.get(alloc.order_line_id, 0) for alloc in gone}
        result = putback.pick_lines_withdraw(fulfillment.pk, keep, actor=actor)
        cut, back = result.picks_cut, sum(row.quantity for row in result.put_back)
        if cut:
            message += "; off the pick walk"
        if back:
            message += f"; {back} picked unit(s) to put back"
            if fulfillment.status in {S.PACKED, S.READY_FOR_PICKUP}:
                message += ", out of its package"
                logger.warning("fulfillment %s (%s): a count released %s after packing", fulfillment.number,
                               fulfillment.status, what)
        if fulfillment.status == S.PICKING and not result.left_to_pick:
            fulfillment_mark_picked(fulfillment, actor=actor)
    events.record(fulfillment.order, FULFILLMENT_LINES_RELEASED, actor=actor, fulfillment=fulfillment,
                  message=message[:255], publish=False,
                  payload={"reason": reason, "lines": [{"sku": code, "units": n} for code, n in sorted(units.items())],
                           "picks_cut": cut, "put_back": back})


def stale_pending_fulfillments(older_than: timedelta, limit: int = 200) -> list[int]:
    cutoff = timezone.now() - older_than
    return list(Fulfillment.objects.filter(status=S.PENDING, created_at__lt=cutoff).order_by("created_at")
                .values_list("pk", flat=True)[:limit])


def has_stock_for_backorder(order: Order) -> bool:
    """Some eligible location (one that serves the order's delivery method and sells for its
    channel) now has one of the order's missing SKUs available."""
    skus = set(OrderLine.objects.filter(order=order, backordered_quantity__gt=0).values_list("sku_id", flat=True))
    if not skus:
        return False
    locations = candidate_locations(order)
    return bool(locations) and bool(inventory_selectors.stock_rows(skus, locations.keys()))


def backordered_orders(limit: int = 500) -> list[Order]:
    """Orders waiting for units, oldest first."""
    return list(Order.objects.filter(Q(status=Order.Status.BACKORDERED) | Q(lines__backordered_quantity__gt=0))
                .exclude(status=Order.Status.CANCELLED).distinct().order_by("placed_at", "pk")[:limit])
