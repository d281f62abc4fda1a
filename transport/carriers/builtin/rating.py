"""Rate-card pricing for the built-in carrier.

Rules (pure functions, so boundaries are testable with exact numbers):

* Distance is the great-circle (haversine) distance between origin and
  destination coordinates, rounded half-up to whole metres as a Decimal. The
  rounding keeps float noise from pushing a parcel that is "exactly 10 km"
  into the next zone.
* A rate-card entry *covers* a parcel when ``weight <= max_weight_grams`` and
  ``distance <= max_km``: limits are inclusive upper bounds.
* A parcel's price is the cheapest covering entry. On a regular grid (every
  tier x every zone) with prices rising in both directions that is exactly the
  smallest tier and smallest zone containing the parcel; on a sparse card it is
  still well defined.
* A service's price for a shipment is the sum over its parcels; if any parcel
  is uncovered, or the service's `max_distance_km` is exceeded, the service is
  not available (`RateNotAvailable`, with the reason).
* Unknown distance (an address without coordinates: storefronts rarely send
  them, and there is no geocoder offline): each parcel is charged at the
  farthest zone of the card that carries its weight, capped at the service's
  `max_distance_km`. Every entry covering that distance also covers any
  shorter one, so the price is the most the parcel could cost at any distance
  the service reaches: it never under-charges. The quote says so
  (`PricingBasis.FARTHEST_ZONE`). A range-limited service (a same-day courier)
  cannot check its range then; the router already chose a location that offers
  it, and the courier is paid for the farthest distance it drives.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal

from omnichannel.geo import haversine_km
from transport.carriers.base import Address, CarrierError, Parcel, RateNotAvailable
from transport.carriers.builtin.config import RateCardEntry, ServiceConfig

__all__ = ["distance_km", "known_distance_km", "parcel_price", "parcel_price_unknown_distance", "service_price"]

_METRE = Decimal("0.001")


def distance_km(origin: Address, destination: Address) -> Decimal:
    """Haversine distance in km, rounded to the metre (see module rules)."""
    if origin.lat is None or origin.lng is None or destination.lat is None or destination.lng is None:
        raise CarrierError(
            "the built-in carrier prices by distance: origin and destination need lat/lng",
            code="missing_coordinates",
        )
    km = haversine_km(origin.lat, origin.lng, destination.lat, destination.lng)
    return Decimal(km).quantize(_METRE, rounding=ROUND_HALF_UP)


def known_distance_km(origin: Address, destination: Address) -> Decimal | None:
    """`distance_km`, or None when either end has no coordinates (see module rules)."""
    if not (origin.has_coordinates and destination.has_coordinates):
        return None
    return distance_km(origin, destination)


def parcel_price(rate_card: Iterable[RateCardEntry], weight_grams: int, km: Decimal) -> Decimal:
    """Cheapest entry covering (weight, distance); RateNotAvailable says why not."""
    card = tuple(rate_card)
    covering = [e.price for e in card if weight_grams <= e.max_weight_grams and km <= e.max_km]
    if covering:
        return min(covering)
    raise RateNotAvailable(_uncovered_reason(card, weight_grams, km))


def parcel_price_unknown_distance(rate_card: Iterable[RateCardEntry], weight_grams: int,
                                  max_distance_km: Decimal | None = None) -> Decimal:
    """The price at the farthest zone that carries this weight (within `max_distance_km`,
    when the service has a range): the most the parcel can cost (see module rules)."""
    card = tuple(rate_card)
    zones = [e.max_km for e in card if weight_grams <= e.max_weight_grams]
    if not zones:
        raise RateNotAvailable(_uncovered_reason(card, weight_grams, Decimal(0)))
    farthest = max(zones)
    if max_distance_km is not None:
        farthest = min(farthest, max_distance_km)
    return parcel_price(card, weight_grams, farthest)


def _uncovered_reason(card: Sequence[RateCardEntry], weight_grams: int, km: Decimal) -> str:
    heaviest = max(e.max_weight_grams for e in card)
    farthest = max(e.max_km for e in card)
    if weight_grams > heaviest:
        return f"{weight_grams} g is above the heaviest tier ({heaviest} g)"
    if km > farthest:
        return f"{km} km is beyond the farthest zone ({farthest} km)"
    return f"no rate-card entry covers {weight_grams} g at {km} km"


def service_price(service: ServiceConfig, parcels: Sequence[Parcel], km: Decimal | None) -> Decimal:
    """Sum of parcel prices on one service; RateNotAvailable names the service.
    `km` None: the distance is unknown, each parcel is priced at its farthest zone."""
    if km is not None and service.max_distance_km is not None and km > service.max_distance_km:
        raise RateNotAvailable(
            f"service {service.code!r}: {km} km is beyond its range ({service.max_distance_km} km)"
        )
    total = Decimal(0)
    for index, parcel in enumerate(parcels, start=1):
        try:
            if km is None:
                total += parcel_price_unknown_distance(service.rate_card, parcel.weight_grams,
                                                       service.max_distance_km)
            else:
                total += parcel_price(service.rate_card, parcel.weight_grams, km)
        except RateNotAvailable as exc:
            raise RateNotAvailable(f"service {service.code!r}, parcel {index}: {exc.message}") from None
    return total
