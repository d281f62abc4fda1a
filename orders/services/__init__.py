"""Every write to orders. One use case a function; callers hold the transaction unless
a function's docstring says otherwise."""

from orders.services.cancel import order_cancel
from orders.services.fulfillment import (
    PackageInput,
    fulfillment_accept,
    fulfillment_collect,
    fulfillment_lock,
    fulfillment_mark_delivered,
    fulfillment_mark_picked,
    fulfillment_pack,
    fulfillment_ready_for_pickup,
    fulfillment_reject,
    fulfillment_ship,
    fulfillment_start_picking,
)
from orders.services.inputs import AddressInput, ChannelContext, LineInput, OrderInput
from orders.services.placement import DeferredWrites, PlacementRaced, order_place
from orders.services.routing import order_route, orders_route_many

__all__ = [
    "AddressInput", "ChannelContext", "LineInput", "OrderInput", "PackageInput", "fulfillment_accept",
    "fulfillment_collect", "fulfillment_lock", "fulfillment_mark_delivered", "fulfillment_mark_picked",
    "fulfillment_pack", "fulfillment_ready_for_pickup", "fulfillment_reject", "fulfillment_ship",
    "DeferredWrites", "PlacementRaced", "fulfillment_start_picking", "order_cancel", "order_place", "order_route",
    "orders_route_many",
]
