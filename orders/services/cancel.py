from __future__ import annotations

from inventory import services as inventory_services
from omnichannel.errors import InvalidTransition
from orders import events
from orders.models import Allocation, Fulfillment, Order
from orders.services import capacity
from warehouse import services as warehouse_services

S = Fulfillment.Status
TOO_LATE = {S.SHIPPED, S.DELIVERED, S.PICKED_UP}


def order_cancel(order: Order, *, actor: str, reason: str = "") -> Order:
    """Cancel the order and release every reservation it holds; not once anything has
    shipped or been handed over. Its totes leave any pick walk, units already picked (in a
    tote on the walk, picked, packed, on the pickup shelf) go back from the packing bin to
    their shelves and the location's staff are told
    (`warehouse.services.bins_put_back_cancelled`, after the stock levels: docs/adr/0005).
    Caller holds a transaction and the order's row lock."""
    if order.status == Order.Status.CANCELLED:
        raise InvalidTransition("order", order.status, "cancel")
    if order.fulfillments.filter(status__in=TOO_LATE).exists():
        raise InvalidTransition("order", order.status, "cancel")
    allocations = list(Allocation.objects.filter(order_line__order=order, is_active=True))
    released = inventory_services.reservations_release([a.reservation_id for a in allocations],
                                                       reason="cancel", actor=actor)
    Allocation.objects.filter(pk__in=[a.pk for a in allocations]).update(is_active=False)
    open_fulfillments = list(order.fulfillments.exclude(status__in=capacity.NOT_COUNTED)
                             .values_list("pk", "location_id", "created_at"))
    Fulfillment.objects.filter(pk__in=[pk for pk, _, _ in open_fulfillments]).update(status=S.CANCELLED)
    capacity.fulfillments_dropped((loc, at) for _, loc, at in open_fulfillments)
    warehouse_services.bins_put_back_cancelled([pk for pk, _, _ in open_fulfillments], actor=actor)
    old = order.status
    Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELLED)
    order.status = Order.Status.CANCELLED
    events.record(order, events.ORDER_CANCELLED, actor=actor, status_from=old, status_to=order.status,
                  message=reason[:255], payload={"reason": reason, "released_units": released})
    return order
