"""Reads of transport data that other apps need (services, prices) without touching carriers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal

from transport.models import CarrierService, RateCardEntry


def active_services() -> list[CarrierService]:
    return list(CarrierService.objects.filter(is_active=True, carrier__is_active=True).select_related("carrier"))


def price_function() -> Callable[[str, int, float], Decimal | None]:
    """A price lookup over every active rate card, loaded once: (service code, grams, km)
    -> the cheapest cell covering that weight and distance, or None."""
    cards: dict[str, list[tuple[int, float, Decimal]]] = defaultdict(list)
    rows = RateCardEntry.objects.filter(service__is_active=True).values_list(
        "service__code", "max_weight_grams", "max_km", "price")
    for code, grams, km, cell_price in rows:
        cards[code].append((grams, km, cell_price))

    def price(service_code: str, weight_grams: int, km: float) -> Decimal | None:
        fits = [p for grams, max_km, p in cards.get(service_code, ()) if grams >= weight_grams and max_km >= km]
        return min(fits) if fits else None

    return price
