"""Reads of transport data that other apps need (services, prices) without touching carriers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal

from django.db.models import Max

from transport.models import CarrierService, RateCardEntry, Shipment

# A shipment's statuses, (value, label), for other apps' API schemas.
SHIPMENT_STATUSES: list[tuple[str, str]] = list(Shipment.Status.choices)


def active_services() -> list[CarrierService]:
    return list(CarrierService.objects.filter(is_active=True, carrier__is_active=True).select_related("carrier"))


def service_codes(*, same_day: bool) -> list[str]:
    """The codes of the active services (of active carriers) of that kind, sorted."""
    return sorted(CarrierService.objects.filter(is_active=True, carrier__is_active=True, is_same_day=same_day)
                  .values_list("code", flat=True))


def heaviest_parcel_grams(*, same_day: bool) -> int | None:
    """The heaviest parcel any active service of that kind (same-day or not) takes: its
    heaviest rate-card tier. None when no such service has a rate card (nothing to check
    against: booking will say why it cannot ship). One aggregate query."""
    return RateCardEntry.objects.filter(service__is_active=True, service__carrier__is_active=True,
                                        service__is_same_day=same_day).aggregate(
        heaviest=Max("max_weight_grams"))["heaviest"]


def price_function() -> Callable[[str, int, float | None], Decimal | None]:
    """A price lookup over every active rate card, loaded once: (service code, grams, km)
    -> the cheapest cell covering that weight and distance, or None. km None (an address
    without coordinates): the price at the farthest zone that carries the weight, as the
    built-in carrier charges it (`rating.parcel_price_unknown_distance`, ADR 0006)."""
    cards: dict[str, list[tuple[int, float, Decimal]]] = defaultdict(list)
    rows = RateCardEntry.objects.filter(service__is_active=True).values_list(
        "service__code", "max_weight_grams", "max_km", "price")
    for code, grams, km, cell_price in rows:
        cards[code].append((grams, km, cell_price))

    def price(service_code: str, weight_grams: int, km: float | None) -> Decimal | None:
        carrying = [(max_km, p) for grams, max_km, p in cards.get(service_code, ()) if grams >= weight_grams]
        if km is None and carrying:
            km = max(max_km for max_km, _ in carrying)
        fits = [p for max_km, p in carrying if km is not None and max_km >= km]
        return min(fits) if fits else None

    return price
