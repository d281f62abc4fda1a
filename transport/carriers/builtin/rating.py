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
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal

from omnichannel.geo import haversine_km
from transport.carriers.base import Address, CarrierError, Parcel, RateNotAvailable
from transport.carriers.builtin.config import RateCardEntry, ServiceConfig

__all__ = ["distance_km", "parcel_price", "service_price"]

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


def parcel_price(rate_card: Iterable[RateCardEntry], weight_grams: int, km: Decimal) -> Decimal:
    """Cheapest entry covering (weight, distance); RateNotAvailable says why not."""
    card = tuple(rate_card)
    covering = [e.price for e in card if weight_grams <= e.max_weight_grams and km <= e.max_km]
    if covering:
        return min(covering)
    raise RateNotAvailable(_uncovered_reason(card, weight_grams, km))


def _uncovered_reason(card: Sequence[RateCardEntry], weight_grams: int, km: Decimal) -> str:
    heaviest = max(e.max_weight_grams for e in card)
    farthest = max(e.max_km for e in card)
    if weight_grams > heaviest:
        return f"{weight_grams} g is above the heaviest tier ({heaviest} g)"
    if km > farthest:
        return f"{km} km is beyond the farthest zone ({farthest} km)"
    return f"no rate-card entry covers {weight_grams} g at {km} km"


def service_price(service: ServiceConfig, parcels: Sequence[Parcel], km: Decimal) -> Decimal:
    """Sum of parcel prices on one service; RateNotAvailable names the service."""
    if service.max_distance_km is not None and km > service.max_distance_km:
        raise RateNotAvailable(
            f"service {service.code!r}: {km} km is beyond its range ({service.max_distance_km} km)"
        )
    total = Decimal(0)
    for index, parcel in enumerate(parcels, start=1):
        try:
            total += parcel_price(service.rate_card, parcel.weight_grams, km)
        except RateNotAvailable as exc:
            raise RateNotAvailable(f"service {service.code!r}, parcel {index}: {exc.message}") from None
    return total
