"""Reads of inventory that are more than a one-line filter."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import F, Q, QuerySet

from inventory.models import Location, Sku, StockLevel

AVAILABLE = F("on_hand") - F("reserved") - F("safety_stock") - F("damaged") - F("quality_control")


@dataclass(frozen=True)
class StockRow:
    stock_level_id: int
    sku_id: int
    location_id: int
    available: int


def skus_by_code(codes: Iterable[str]) -> dict[str, Sku]:
    """SKUs by code or barcode (scanners and channels send either)."""
    codes = {c for c in codes if c}
    found: dict[str, Sku] = {}
    for sku in Sku.objects.filter(Q(code__in=codes) | Q(barcode__in=codes), is_active=True):
        if sku.code in codes:
            found[sku.code] = sku
        if sku.barcode in codes:
            found[sku.barcode] = sku
    return found


def locations_for_method(method: str, pickup_location_id: int | None = None) -> QuerySet[Location]:
    qs = Location.objects.filter(is_active=True)
    if method == "pickup":
        if pickup_location_id is None:
            return qs.none()
        return qs.filter(pk=pickup_location_id, can_pickup=True)
    if method == "same_day":
        return qs.filter(can_same_day=True)
    return qs.filter(can_ship=True)


def stock_rows(sku_ids: Iterable[int], location_ids: Iterable[int] | None = None) -> list[StockRow]:
    """Available quantity per (SKU, location), positive rows only, without locks."""
    qs = StockLevel.objects.filter(sku_id__in=list(sku_ids)).annotate(avail=AVAILABLE).filter(avail__gt=0)
    if location_ids is not None:
        qs = qs.filter(location_id__in=list(location_ids))
    return [StockRow(pk, sku_id, loc_id, avail)
            for pk, sku_id, loc_id, avail in qs.values_list("pk", "sku_id", "location_id", "avail")]


def stock_level_ids(pairs: set[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """Stock level ids keyed (location_id, sku_id) for the pairs that have one."""
    rows = StockLevel.objects.filter(location_id__in={p[0] for p in pairs}, sku_id__in={p[1] for p in pairs})
    found = {(loc, sku): pk for pk, loc, sku in rows.values_list("pk", "location_id", "sku_id")}
    return {pair: found[pair] for pair in pairs if pair in found}


def stock_levels_at(location_id: int, sku_ids: Iterable[int]) -> list[StockLevel]:
    """The stock levels of these SKUs at one location (for services that then lock them)."""
    return list(StockLevel.objects.filter(location_id=location_id, sku_id__in=list(sku_ids)).order_by("pk"))
