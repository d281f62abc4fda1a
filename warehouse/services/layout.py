"""Zones, bins and box types of a location. Caller holds a transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Sum

from inventory.models import Location, StockLevel
from omnichannel.errors import ValidationFailed
from warehouse.models import Bin, BinStock, BoxType, Zone
from warehouse.services.binstock import bin_add

K = Bin.Kind
SPECIAL_BINS = [(K.RECEIVING, "RECV", "Receiving dock"), (K.OUTBOUND, "PACK", "Packing / outbound"),
                (K.QUARANTINE, "QUAR", "Quarantine (damaged)")]


@dataclass(frozen=True)
class BinInput:
    code: str
    pick_sequence: int
    barcode: str = ""


@dataclass(frozen=True)
class BoxInput:
    code: str
    name: str
    length_mm: int
    width_mm: int
    height_mm: int
    max_weight_grams: int
    tare_grams: int = 0


def zone_create(location: Location, code: str, name: str = "") -> Zone:
    zone, _ = Zone.objects.get_or_create(location=location, code=code, defaults={"name": name or code})
    return zone


def special_bins_ensure(location: Location) -> dict[str, Bin]:
    """The receiving, outbound and quarantine bins of a location (made once)."""
    zone = zone_create(location, "DOCK", "Dock and benches")
    bins: dict[str, Bin] = {}
    for kind, code, _name in SPECIAL_BINS:
        bins[kind], _ = Bin.objects.get_or_create(
            location=location, kind=kind,
            defaults={"zone": zone, "code": code, "barcode": f"{location.code}-{code}", "pick_sequence": 0})
    return bins


def bins_create(location: Location, zone_code: str, bins: Sequence[BinInput]) -> list[Bin]:
    """Storage bins in a zone; barcodes default to "<location>-<bin code>"."""
    zone = zone_create(location, zone_code)
    special_bins_ensure(location)
    created = []
    for spec in bins:
        if not spec.code.strip():
            raise ValidationFailed("A bin needs a code.", field="code")
        created.append(Bin.objects.create(location=location, zone=zone, code=spec.code, kind=K.STORAGE,
                                          barcode=spec.barcode or f"{location.code}-{spec.code}",
                                          pick_sequence=spec.pick_sequence))
    return created


def box_types_create(location: Location, boxes: Sequence[BoxInput]) -> list[BoxType]:
    return [BoxType.objects.update_or_create(location=location, code=box.code, defaults={
        "name": box.name, "length_mm": box.length_mm, "width_mm": box.width_mm, "height_mm": box.height_mm,
        "max_weight_grams": box.max_weight_grams, "tare_grams": box.tare_grams, "is_active": True})[0]
        for box in boxes]


def bins_spread_unbinned(location: Location, bins: Sequence[Bin]) -> int:
    """Set-up only: like `bins_place_unbinned`, each SKU into one of `bins` in turn (by SKU code)."""
    if not bins:
        return 0
    binned = dict(BinStock.objects.filter(bin__location=location).values_list("sku_id")
                  .annotate(total=Sum("quantity")).values_list("sku_id", "total"))
    placed = 0
    rows = StockLevel.objects.filter(location=location).order_by("sku__code").values_list("sku_id", "on_hand")
    for index, (sku_id, on_hand) in enumerate(rows):
        missing = on_hand - (binned.get(sku_id) or 0)
        if missing > 0:
            bin_add(bins[index % len(bins)].pk, sku_id, missing)
            placed += missing
    return placed


def bins_place_unbinned(location: Location, into: Bin) -> int:
    """Set-up only: put each SKU's on_hand not yet in any bin into `into` (a location that
    gets bins after it already held stock). Returns the units placed."""
    if into.location_id != location.pk:
        raise ValidationFailed("That bin is at another location.", field="bin")
    binned = dict(BinStock.objects.filter(bin__location=location).values_list("sku_id")
                  .annotate(total=Sum("quantity")).values_list("sku_id", "total"))
    placed = 0
    for sku_id, on_hand in StockLevel.objects.filter(location=location).values_list("sku_id", "on_hand"):
        missing = on_hand - (binned.get(sku_id) or 0)
        if missing > 0:
            bin_add(into.pk, sku_id, missing)
            placed += missing
    return placed
