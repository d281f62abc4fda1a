"""The store's pickup counter: find the order, check the customer's code, hand it over;
and the periodic cancellation of pickups nobody collected within the channel's hold."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Q

from inventory.models import Location
from orders import services as order_services
from orders.models import Fulfillment, Order
from orders.services import floor as order_floor
from warehouse.errors import UnknownCode
from warehouse.services.binstock import bins_units_left, floor_books_bins

FS = Fulfillment.Status
EXPIRY_ACTOR = "system:pickup-expiry"


def pickup_search(location: Location, query: str) -> list[Fulfillment]:
    """Ready-for-pickup fulfillments here by pickup code, order number, or the name or email the
    order was placed with (`Order.contact_*`)."""
    query = (query or "").strip()
    if len(query) < 2:
        return []
    qs = Fulfillment.objects.filter(location=location, status=FS.READY_FOR_PICKUP).select_related("order")
    return list(qs.filter(Q(pickup_code=query) | Q(order__number__iexact=query) | Q(number__iexact=query)
                          | Q(order__contact_name__icontains=query) | Q(order__contact_email__iexact=query))
                .order_by("pk")[:20])


def pickup_handover(location: Location, fulfillment_id: int, *, code: str, actor: str) -> Fulfillment:
    """Check the code and hand over. Opens its own transactions (a wrong code is counted and
    committed before the error is raised, by orders); the units then leave their bins."""
    if not Fulfillment.objects.filter(pk=fulfillment_id, location=location).exists():
        raise UnknownCode("No such pickup here.", field="fulfillment")
    with floor_books_bins():
        fulfillment = order_services.fulfillment_collect(fulfillment_id, code=code, actor=actor)
    with transaction.atomic():
        for sku_id, qty in sorted(_units(fulfillment).items()):
            bins_units_left(location.pk, sku_id, qty)
    return fulfillment


def _units(fulfillment: Fulfillment) -> dict[int, int]:
    units: dict[int, int] = {}
    for sku_id, qty in order_floor.fulfillment_units(fulfillment).values():
        units[sku_id] = units.get(sku_id, 0) + qty
    return units


def pickups_cancel_uncollected(now: datetime, *, limit: int = 200) -> list[Order]:
    """Cancel the orders whose pickup waited longer than the channel's pickup_hold_days: their
    units are released (sellable again), go back in the books from the pickup shelf (outbound
    bin) to the bins they were picked from and are listed at the packing station to put back
    (orders' cancel, through `warehouse.services.bins_put_back_cancelled`), and the customer
    hears `order.cancelled`. One transaction each."""
    cancelled = []
    for fulfillment_id in order_floor.uncollected_pickups(now, limit):
        with transaction.atomic(), floor_books_bins():
            order = order_floor.pickup_expire(fulfillment_id, now=now, actor=EXPIRY_ACTOR)
        if order is not None:
            cancelled.append(order)
    return cancelled
