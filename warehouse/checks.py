"""The bin invariant: at every location that has bins, the units in its bins add up, per
SKU, to the stock level's on_hand. `bin_violations()` lists every place it does not, in
words a person can act on (check_inventory prints them)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Sum

from inventory.models import Location, Sku, StockLevel
from warehouse.models import Bin, BinStock


@dataclass(frozen=True)
class BinViolation:
    location: str
    sku: str
    on_hand: int
    in_bins: int

    def __str__(self) -> str:
        return (f"{self.sku} @ {self.location}: on_hand is {self.on_hand} but its bins hold {self.in_bins} "
                f"({self.in_bins - self.on_hand:+d})")


def bin_violations() -> list[BinViolation]:
    location_ids = set(Bin.objects.values_list("location_id", flat=True).distinct())
    if not location_ids:
        return []
    binned = {(loc, sku): total for loc, sku, total in
              BinStock.objects.filter(bin__location_id__in=location_ids).values_list("bin__location_id", "sku_id")
              .annotate(total=Sum("quantity")).values_list("bin__location_id", "sku_id", "total")}
    levels = {(loc, sku): (on_hand, loc_code, sku_code) for loc, sku, on_hand, loc_code, sku_code in
              StockLevel.objects.filter(location_id__in=location_ids)
              .values_list("location_id", "sku_id", "on_hand", "location__code", "sku__code")}
    found = []
    for key in sorted(set(binned) | set(levels)):
        in_bins = binned.get(key) or 0
        if key in levels:
            on_hand, loc_code, sku_code = levels[key]
        else:  # units in bins without a stock level
            on_hand, loc_code, sku_code = 0, Location.objects.get(pk=key[0]).code, Sku.objects.get(pk=key[1]).code
        if in_bins != on_hand:
            found.append(BinViolation(loc_code, sku_code, on_hand, in_bins))
    return found
