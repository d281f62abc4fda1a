"""Delivery promise for a cart: the network's state mapped onto the pure promise maths
(orders/promise.py), and the same maths used to tell the router when each location
would deliver, so an order placed with a promise is routed to keep it.

An address without coordinates (or with only one of them) is promised as the built-in
carrier will price it (docs/adr/0006): ship options at the farthest zone's price, dated
from each service's cutoff and transit days; range-limited services and pickups, which
need the distance, are not offered."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

from inventory import selectors as inventory_selectors
from inventory.errors import UnknownSku
from inventory.models import Location
from omnichannel.errors import ValidationFailed
from orders.promise import (
    PRICE_AT_FARTHEST_ZONE,
    PRICE_BY_DISTANCE,
    PromiseLocation,
    PromiseOption,
    PromiseRequest,
    PromiseService,
    promise,
)
from orders.services.capacity import orders_today
from orders.services.selling import selling_locations
from transport import selectors as transport_selectors

MAX_CART_LINES = 100
PRICE_BASES = (PRICE_BY_DISTANCE, PRICE_AT_FARTHEST_ZONE)  # an option's `price_basis` (None for pickup)


def _weekdays(location: Location) -> frozenset[int]:
    return frozenset(int(ch) for ch in (location.open_weekdays or "") if ch.isdigit() and int(ch) < 7)


def _holidays(location: Location) -> frozenset[date]:
    return frozenset(date.fromisoformat(d) for d in (location.holidays or []))


def promise_location(location: Location, stock: dict[str, int], orders_taken: int) -> PromiseLocation:
    capacity_left = location.daily_order_capacity is None or orders_taken < location.daily_order_capacity
    return PromiseLocation(
        code=location.code, name=location.name, lat=location.latitude, lng=location.longitude, stock=stock,
        tz=location.timezone, can_ship=location.can_ship, can_pickup=location.can_pickup,
        can_same_day=location.can_same_day, processing_minutes=location.processing_minutes,
        open_weekdays=_weekdays(location), opens=location.opens_at, closes=location.closes_at,
        cutoff=location.order_cutoff, holidays=_holidays(location), has_capacity_today=capacity_left)


def network_for(sku_ids: dict[int, str], locations: list[Location]) -> list[PromiseLocation]:
    stock: dict[int, dict[str, int]] = defaultdict(dict)
    for row in inventory_selectors.stock_rows(sku_ids.keys(), [loc.pk for loc in locations]):
        stock[row.location_id][sku_ids[row.sku_id]] = row.available
    taken = orders_today([loc.pk for loc in locations])
    return [promise_location(loc, stock.get(loc.pk, {}), taken.get(loc.pk, 0)) for loc in locations]


def promise_options(*, cart: dict[str, int], lat: float | None, lng: float | None, now: datetime | None = None,
                    pickup_radius_km: float = 15.0, channel_id: int | None = None) -> list[PromiseOption]:
    """The options a checkout shows for `cart` (SKU code or barcode -> qty) to (lat, lng);
    without both coordinates, as the module says. `channel_id`: only from the locations that
    sell for that channel (`selling.py`), as its orders will be placed and routed."""
    if not cart:
        raise ValidationFailed("The cart is empty.", field="cart")
    if len(cart) > MAX_CART_LINES:
        raise ValidationFailed(f"A cart has at most {MAX_CART_LINES} lines.", field="cart")
    skus = inventory_selectors.skus_by_code(cart)
    for index, code in enumerate(cart):
        if code not in skus:
            raise UnknownSku(f"Unknown SKU {code!r}.", field=f"cart[{index}].sku")
    by_code: dict[str, int] = {}  # a SKU sent by code and by barcode is one SKU: its lines add up
    for code, qty in cart.items():
        by_code[skus[code].code] = by_code.get(skus[code].code, 0) + qty
    weight = sum(skus[code].weight_grams * qty for code, qty in cart.items())
    locations = list(Location.objects.filter(is_active=True))
    selling = selling_locations(channel_id) if channel_id is not None else None
    if selling is not None:
        locations = [loc for loc in locations if loc.pk in selling]
    network = network_for({s.pk: s.code for s in skus.values()}, locations)
    services = [PromiseService(code=s.code, name=s.name, transit_days=s.transit_days, cutoff=s.cutoff_time,
                               is_same_day=s.is_same_day, max_distance_km=s.max_distance_km)
                for s in transport_selectors.active_services()]
    request = PromiseRequest(now=now or timezone.now(), cart=by_code, weight_grams=weight, lat=lat, lng=lng,
                             pickup_radius_km=pickup_radius_km)
    return promise(request, network, services, transport_selectors.price_function())


def delivery_estimates(locations: dict[int, Location], *, service_code: str | None, method: str,
                       now: datetime | None = None) -> dict[int, datetime]:
    """When each location would deliver (ship) or have it ready (pickup) if it took the
    order now: what the router compares with a promised deadline."""
    from orders.promise import delivery_window, ready_at

    now = now or timezone.now()
    service = None
    if method != "pickup":
        candidates = [s for s in transport_selectors.active_services()
                      if (service_code and s.code == service_code)
                      or (not service_code and s.is_same_day == (method == "same_day"))]
        candidates.sort(key=lambda s: s.transit_days)
        if not candidates:
            return {}
        s = candidates[0]
        service = PromiseService(code=s.code, name=s.name, transit_days=s.transit_days, cutoff=s.cutoff_time,
                                 is_same_day=s.is_same_day, max_distance_km=s.max_distance_km)
    request = PromiseRequest(now=now, cart={}, weight_grams=0)
    estimates: dict[int, datetime] = {}
    for loc_id, location in locations.items():
        ready = ready_at(promise_location(location, {}, 0), now)
        if service is None:
            estimates[loc_id] = ready
            continue
        try:
            estimates[loc_id] = delivery_window(ready, service, request)[0]
        except ValueError:  # same-day missed: a day late at best
            estimates[loc_id] = datetime.max.replace(tzinfo=ready.tzinfo)
    return estimates


def price_decimal(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"
