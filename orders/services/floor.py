"""Orders-level operations the warehouse floor needs (issue #5): a short pick that sends
the missing units back to the router, a return on the order's timeline, and uncollected
pickups cancelled after the channel's hold. Callers hold a transaction and, where said,
the order's and fulfillment's locks (`fulfillment_lock`)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Max, Q

from inventory import locks
from inventory import services as inventory_services
from inventory.models import StockLevel
from omnichannel.errors import InvalidTransition, ValidationFailed
from orders import events
from orders.models import (
    Allocation,
    DeliveryMethod,
    Fulfillment,
    Order,
    OrderEvent,
    OrderLine,
    RoutingDecision,
)
from orders.services import capacity
from orders.services.allocation import reserve_plan
from orders.services.cancel import order_cancel
from orders.services.fulfillment import fulfillment_lock
from orders.services.routing import order_route
from orders.services.status import refresh_order_status
from orders.sourcing import Plan

S = Fulfillment.Status
FULFILLMENT_SHORT_PICKED = "fulfillment.short_picked"
RETURN_RECEIVED = "return.received"
HANDED_OVER = {S.SHIPPED, S.DELIVERED, S.PICKED_UP}


def fulfillment_units(fulfillment: Fulfillment) -> dict[int, tuple[int, int]]:
    """The units a fulfillment holds now: order line id -> (sku id, quantity)."""
    units: dict[int, tuple[int, int]] = {}
    rows = (Allocation.objects.filter(fulfillment=fulfillment, is_active=True)
            .values_list("order_line_id", "order_line__sku_id", "quantity"))
    for line_id, sku_id, qty in rows:
        units[line_id] = (sku_id, units.get(line_id, (sku_id, 0))[1] + qty)
    return units


def fulfillment_short(fulfillment: Fulfillment, *, order_line_id: int, missing: int, reason: str,
                      actor: str) -> int:
    """The location holds `missing` fewer units of a line than it promised: release the
    line's reservation here, keep (re-reserve) the units that were found, and cancel the
    fulfillment if it is left with nothing. Returns the units kept. The caller corrects the
    stock (inventory movements) and then calls `order_reroute_now`. Caller holds
    `fulfillment_lock`."""
    if fulfillment.status not in {S.ACCEPTED, S.PICKING}:
        raise InvalidTransition("fulfillment", fulfillment.status, "short pick")
    allocations = list(fulfillment.allocations.filter(is_active=True, order_line_id=order_line_id).order_by("pk"))
    held = sum(a.quantity for a in allocations)
    if not 0 < missing <= held:
        raise ValidationFailed(f"Between 1 and {held} unit(s) can be short.", field="quantity")
    _lock_levels_of_order_skus(fulfillment.order_id)
    inventory_services.reservations_release([a.reservation_id for a in allocations], reason="short_pick",
                                            actor=actor)
    Allocation.objects.filter(pk__in=[a.pk for a in allocations]).update(is_active=False)
    kept = held - missing
    line = OrderLine.objects.select_related("sku").get(pk=order_line_id)
    if kept:
        reserve_plan([(line, kept)], Plan(take={fulfillment.location_id: {line.sku_id: kept}}), actor=actor,
                     fulfillments={fulfillment.location_id: fulfillment})
    events.record(fulfillment.order, FULFILLMENT_SHORT_PICKED, actor=actor, fulfillment=fulfillment,
                  message=f"{missing} x {line.sku.code} short ({reason})", publish=False,
                  payload={"sku": line.sku.code, "missing": missing, "kept": kept, "reason": reason})
    if not fulfillment.allocations.filter(is_active=True).exists():
        old = fulfillment.status
        Fulfillment.objects.filter(pk=fulfillment.pk).update(status=S.CANCELLED)
        fulfillment.status = S.CANCELLED
        capacity.fulfillments_dropped([(fulfillment.location_id, fulfillment.created_at)])
        events.record(fulfillment.order, "fulfillment.cancelled", actor=actor, fulfillment=fulfillment,
                      status_from=old, status_to=S.CANCELLED, message="Nothing left to pick", publish=False)
    refresh_order_status(fulfillment.order, actor=actor)
    return kept


def _lock_levels_of_order_skus(order_id: int) -> None:
    """A short pick releases and corrects one stock level and then routes the missing units
    again, taking others, in one transaction. Every level of the order's SKUs is locked here,
    first and in one pk order, so that second round of locks cannot deadlock with a placement
    taking the same levels in pk order (inventory.locks). A short pick is rare; the locks
    last for its transaction."""
    sku_ids = OrderLine.objects.filter(order_id=order_id).values_list("sku_id", flat=True)
    locks.stock_levels_lock(StockLevel.objects.filter(sku_id__in=sku_ids).values_list("pk", flat=True))


def order_reroute_now(order_id: int, *, actor: str, trigger: str = "short_pick") -> RoutingDecision | None:
    """Route the order's unplaced units at once (in the caller's transaction)."""
    return order_route(order_id, trigger=trigger, actor=actor)


# --- returns -------------------------------------------------------------------------------------------


def order_lock(order_id: int) -> None:
    """Lock the order's row (the floor's first lock, docs/adr/0005): two returns of the same
    order are received one after the other. Caller holds a transaction."""
    Order.objects.select_for_update().filter(pk=order_id).first()


def order_returnable_units(order: Order) -> dict[int, int]:
    """Order line id -> units that reached the customer (shipped or handed over)."""
    units: dict[int, int] = defaultdict(int)
    rows = (Allocation.objects.filter(order_line__order=order, is_active=True, fulfillment__status__in=HANDED_OVER)
            .values_list("order_line_id", "quantity"))
    for line_id, qty in rows:
        units[line_id] += qty
    return dict(units)


def order_return_record(order: Order, *, return_number: str, location_code: str, lines: list[dict[str, Any]],
                        actor: str) -> OrderEvent:
    """Put a received return on the order's timeline and publish `return.received` (the
    storefront refunds from its lines: sku, quantity, disposition, unit price)."""
    units = sum(int(line["quantity"]) for line in lines)
    return events.record(order, RETURN_RECEIVED, actor=actor, message=f"{units} unit(s) returned at {location_code}",
                         payload={"return_number": return_number, "location": location_code, "lines": lines})


# --- uncollected pickups -------------------------------------------------------------------------------


def uncollected_pickups(now: datetime, limit: int = 200, *, fulfillment_id: int | None = None) -> list[int]:
    """Fulfillments ready for pickup for longer than their channel's pickup_hold_days."""
    qs = Fulfillment.objects.filter(status=S.READY_FOR_PICKUP, order__delivery_method=DeliveryMethod.PICKUP)
    if fulfillment_id is not None:
        qs = qs.filter(pk=fulfillment_id)
    ready = (qs.annotate(ready_at=Max("events__created_at",
                                      filter=Q(events__type=events.FULFILLMENT_READY_FOR_PICKUP)))
             .values_list("pk", "ready_at", "order__channel__pickup_hold_days"))
    due = [pk for pk, ready_at, days in ready if ready_at is not None and ready_at + timedelta(days=days) <= now]
    return sorted(due)[:limit]


def pickup_expire(fulfillment_id: int, *, now: datetime, actor: str) -> Order | None:
    """Cancel an order whose pickup was not collected in time (its units are released and the
    customer is told by `order.cancelled`). None when it was collected or cancelled meanwhile.
    Takes the order and fulfillment locks; caller holds a transaction."""
    fulfillment = fulfillment_lock(fulfillment_id)
    if fulfillment.status != S.READY_FOR_PICKUP or not uncollected_pickups(now, fulfillment_id=fulfillment_id):
        return None
    days = fulfillment.order.channel.pickup_hold_days
    return order_cancel(fulfillment.order, actor=actor,
                        reason=f"Not collected within {days} days at {fulfillment.location.name}.")
