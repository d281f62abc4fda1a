from __future__ import annotations

from typing import cast

from django.db.models import Prefetch, QuerySet

from omnichannel.permissions import Principal
from orders.models import Fulfillment, Order


def order_list(principal: Principal) -> QuerySet[Order]:
    """Orders the caller may see: a channel its own, floor staff their location's, ops all."""
    qs = Order.objects.select_related("customer", "channel", "pickup_location")
    if principal.is_channel:
        return qs.filter(channel_id=principal.channel_id)
    if principal.is_ops:
        return qs
    if principal.is_floor:
        return qs.filter(fulfillments__location_id=cast(int, principal.location_id)).distinct()
    return qs.none()


def order_detail_queryset(principal: Principal) -> QuerySet[Order]:
    return order_list(principal).prefetch_related(
        "lines__sku", "events",
        Prefetch("fulfillments", queryset=Fulfillment.objects.select_related(
            "location", "shipment__service__carrier").prefetch_related("allocations__order_line__sku", "packages")),
    )


def fulfillment_list(principal: Principal) -> QuerySet[Fulfillment]:
    """Fulfillments the caller may act on: floor staff their own location's, ops all."""
    qs = Fulfillment.objects.select_related("order", "location", "shipment")
    if principal.is_ops:
        return qs
    if principal.is_floor:
        return qs.filter(location_id=cast(int, principal.location_id))
    return qs.none()
