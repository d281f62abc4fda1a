"""The delivery promise, pure Python (no Django): which options a checkout can show for
a cart, with earliest/latest dates, cost and source locations.

Time rules, all in each location's own time zone:
- a location works on its open weekdays (minus holidays) between `opens` and `closes`;
  an order it receives before its `cutoff` on a working day with capacity left starts
  processing at once, otherwise at `opens` on its next working day;
- ready = start + processing time (pickup orders are ready-for-collection then);
- a carrier service collects on business days (Mon–Fri, minus carrier holidays): a
  parcel ready before the service cutoff leaves that day, else the next business day;
  delivery = departure + transit business days (same-day: departure day);
- the latest date is the earliest plus `slack_days` business days (the promise we keep).

Price rules (what the carrier will charge, docs/adr/0006):
- with the address's coordinates, a ship option costs the rate-card price at the distance
  from its location (`price_basis` "distance");
- without them (storefronts rarely send them) the distance is unknown: a ship option costs
  the price of the farthest zone of the service's card that carries the cart's weight, the
  most the carrier can charge and what it does charge (`price_basis` "farthest_zone"), the
  same from every location, so the earliest location is shown. A service with a range
  (`max_distance_km`: the same-day courier) is not offered then: the range cannot be
  checked, and a promise the courier may not reach is not one to show. Pickups need the
  shopper's position (the radius) and are not offered either.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from omnichannel.geo import haversine_km

PriceFn = Callable[[str, int, float | None], Decimal | None]  # km None: distance unknown
"""(service code, weight grams, km) -> price, or None when the service cannot carry it."""

PRICE_BY_DISTANCE = "distance"
PRICE_AT_FARTHEST_ZONE = "farthest_zone"  # the carrier's `Shipment.pricing_basis` for an unmeasured address


@dataclass(frozen=True)
class PromiseLocation:
    code: str
    name: str
    lat: float
    lng: float
    stock: Mapping[str, int]
    tz: str = "Europe/Amsterdam"
    can_ship: bool = True
    can_pickup: bool = False
    can_same_day: bool = False
    processing_minutes: int = 120
    open_weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4, 5})
    opens: time = time(9)
    closes: time = time(21)
    cutoff: time = time(18)
    holidays: frozenset[date] = frozenset()
    has_capacity_today: bool = True


@dataclass(frozen=True)
class PromiseService:
    code: str
    name: str
    transit_days: int
    cutoff: time
    is_same_day: bool = False
    max_distance_km: float | None = None


@dataclass(frozen=True)
class PromiseOption:
    kind: str  # ship | same_day | pickup
    id: str
    label: str
    earliest: datetime
    latest: datetime
    cost: Decimal
    currency: str
    locations: tuple[str, ...]
    service: str | None = None
    distance_km: float | None = None
    price_basis: str | None = None  # distance | farthest_zone (ship and same-day); None for pickup (no carriage)


@dataclass(frozen=True)
class PromiseRequest:
    now: datetime
    cart: Mapping[str, int]
    weight_grams: int
    lat: float | None = None
    lng: float | None = None
    pickup_radius_km: float = 15.0
    slack_days: int = 1
    carrier_holidays: frozenset[date] = field(default_factory=frozenset)
    currency: str = "EUR"

    @property
    def has_coordinates(self) -> bool:
        return self.lat is not None and self.lng is not None


def is_working_day(loc: PromiseLocation, day: date) -> bool:
    return day.weekday() in loc.open_weekdays and day not in loc.holidays


def processing_start(loc: PromiseLocation, now: datetime) -> datetime:
    """When the location starts on an order received at `now` (aware)."""
    local = now.astimezone(ZoneInfo(loc.tz))
    day = local.date()
    if is_working_day(loc, day) and loc.has_capacity_today and local.time() < loc.cutoff:
        return max(local, datetime.combine(day, loc.opens, local.tzinfo))
    for _ in range(30):
        day += timedelta(days=1)
        if is_working_day(loc, day):
            return datetime.combine(day, loc.opens, local.tzinfo)
    raise ValueError(f"{loc.code} has no working day in the next 30 days")


def ready_at(loc: PromiseLocation, now: datetime) -> datetime:
    return processing_start(loc, now) + timedelta(minutes=loc.processing_minutes)


def is_business_day(day: date, holidays: frozenset[date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_business_days(day: date, count: int, holidays: frozenset[date]) -> date:
    while count > 0:
        day += timedelta(days=1)
        if is_business_day(day, holidays):
            count -= 1
    return day


def departure(ready: datetime, service: PromiseService, holidays: frozenset[date]) -> date:
    day = ready.date()
    if is_business_day(day, holidays) and ready.time() <= service.cutoff:
        return day
    day += timedelta(days=1)
    while not is_business_day(day, holidays):
        day += timedelta(days=1)
    return day


def delivery_window(ready: datetime, service: PromiseService, request: PromiseRequest) -> tuple[datetime, datetime]:
    leaves = departure(ready, service, request.carrier_holidays)
    if service.is_same_day:
        if leaves != ready.date():
            raise ValueError("same-day missed")
        arrives = leaves
    else:
        arrives = add_business_days(leaves, service.transit_days, request.carrier_holidays)
    latest = add_business_days(arrives, request.slack_days, request.carrier_holidays)
    end_of_day = time(21)
    return (datetime.combine(arrives, end_of_day, ready.tzinfo), datetime.combine(latest, end_of_day, ready.tzinfo))


def holds_cart(loc: PromiseLocation, cart: Mapping[str, int]) -> bool:
    return all(loc.stock.get(sku, 0) >= qty for sku, qty in cart.items())


def _km(loc: PromiseLocation, request: PromiseRequest) -> float | None:
    if request.lat is None or request.lng is None:
        return None
    return haversine_km(loc.lat, loc.lng, request.lat, request.lng)


def _unmeasured_cost(request: PromiseRequest, service: PromiseService, price: PriceFn) -> Decimal | None:
    """A ship option's cost from any location when the address has no coordinates, or None
    when the service is not offered then (see the module's price rules)."""
    if service.max_distance_km is not None:  # its range cannot be checked
        return None
    return price(service.code, request.weight_grams, None)  # the farthest zone, as the carrier charges


def ship_options(request: PromiseRequest, locations: Sequence[PromiseLocation],
                 services: Sequence[PromiseService], price: PriceFn) -> list[PromiseOption]:
    """For each service, the best single location holding the cart (earliest, then cheapest).
    Without coordinates every location costs the same (the farthest zone's price)."""
    options = []
    for service in services:
        unmeasured = None if request.has_coordinates else _unmeasured_cost(request, service, price)
        if not request.has_coordinates and unmeasured is None:
            continue
        best: PromiseOption | None = None
        for loc in locations:
            ok_method = loc.can_same_day if service.is_same_day else loc.can_ship
            if not ok_method or not holds_cart(loc, request.cart):
                continue
            km = _km(loc, request)
            if km is not None and service.max_distance_km is not None and km > service.max_distance_km:
                continue
            cost = unmeasured if km is None else price(service.code, request.weight_grams, km)
            if cost is None:
                continue
            try:
                earliest, latest = delivery_window(ready_at(loc, request.now), service, request)
            except ValueError:
                continue
            option = PromiseOption(kind="same_day" if service.is_same_day else "ship", id=f"ship:{service.code}",
                                   label=service.name, earliest=earliest, latest=latest, cost=cost,
                                   currency=request.currency, locations=(loc.code,), service=service.code,
                                   distance_km=None if km is None else round(km, 2),
                                   price_basis=PRICE_AT_FARTHEST_ZONE if km is None else PRICE_BY_DISTANCE)
            if best is None or (option.earliest, option.cost) < (best.earliest, best.cost):
                best = option
        if best is not None:
            options.append(best)
    return options


def pickup_options(request: PromiseRequest, locations: Sequence[PromiseLocation]) -> list[PromiseOption]:
    """Stores within the radius that hold the whole cart, nearest first."""
    found = []
    for loc in locations:
        km = _km(loc, request)
        if not loc.can_pickup or km is None or km > request.pickup_radius_km or not holds_cart(loc, request.cart):
            continue
        ready = ready_at(loc, request.now)
        found.append((km, PromiseOption(kind="pickup", id=f"pickup:{loc.code}", label=f"Pick up at {loc.name}",
                                        earliest=ready, latest=ready + timedelta(hours=2), cost=Decimal("0.00"),
                                        currency=request.currency, locations=(loc.code,), distance_km=round(km, 2))))
    return [option for _, option in sorted(found, key=lambda pair: pair[0])]


def promise(request: PromiseRequest, locations: Sequence[PromiseLocation], services: Sequence[PromiseService],
            price: PriceFn) -> list[PromiseOption]:
    """Every option the checkout can show, cheapest ship option first, then same-day, then pickups."""
    shipping = ship_options(request, locations, services, price)
    ship = sorted((o for o in shipping if o.kind == "ship"), key=lambda o: (o.cost, o.earliest))
    same_day = [o for o in shipping if o.kind == "same_day"]
    return [*ship, *same_day, *pickup_options(request, locations)]
