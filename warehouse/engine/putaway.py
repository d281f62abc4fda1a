"""Where received units go: the bin that already holds the SKU (the fullest, then the
first in the walk), else an empty bin in the zone the SKU lives in, else any empty bin."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class BinSpec:
    key: int
    zone: str
    pick_sequence: int
    units_of_sku: int  # of the SKU being put away
    units_total: int  # of every SKU


def suggest_putaway_bin(bins: Sequence[BinSpec], preferred_zone: str | None = None) -> int | None:
    holding = [b for b in bins if b.units_of_sku > 0]
    if holding:
        return min(holding, key=lambda b: (-b.units_of_sku, b.pick_sequence, b.key)).key
    empty = sorted((b for b in bins if b.units_total == 0), key=lambda b: (b.pick_sequence, b.key))
    in_zone = [b for b in empty if preferred_zone is not None and b.zone == preferred_zone]
    candidates = in_zone or empty
    return candidates[0].key if candidates else None
