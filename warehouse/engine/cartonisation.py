"""Which box to pack into: the smallest (by volume) that holds the items by volume and by
each item's dimensions, and whose weight limit takes the items plus the box itself."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ItemSpec:
    length_mm: int
    width_mm: int
    height_mm: int
    weight_grams: int
    quantity: int = 1

    @property
    def volume(self) -> int:
        return self.length_mm * self.width_mm * self.height_mm * self.quantity


@dataclass(frozen=True)
class BoxSpec:
    key: int
    length_mm: int
    width_mm: int
    height_mm: int
    max_weight_grams: int
    tare_grams: int = 0

    @property
    def volume(self) -> int:
        return self.length_mm * self.width_mm * self.height_mm


def _fits_one(item: ItemSpec, box: BoxSpec) -> bool:
    """The item fits lying in some orientation: sorted sides each within the box's."""
    item_sides = sorted((item.length_mm, item.width_mm, item.height_mm))
    box_sides = sorted((box.length_mm, box.width_mm, box.height_mm))
    return all(i <= b for i, b in zip(item_sides, box_sides, strict=True))


def items_weight(items: Sequence[ItemSpec]) -> int:
    return sum(item.weight_grams * item.quantity for item in items)


def suggest_box(items: Sequence[ItemSpec], boxes: Sequence[BoxSpec]) -> BoxSpec | None:
    """The smallest box that takes every item, or None when none does (split the items)."""
    if not items:
        return None
    volume = sum(item.volume for item in items)
    weight = items_weight(items)
    fitting = [box for box in boxes
               if box.volume >= volume and weight + box.tare_grams <= box.max_weight_grams
               and all(_fits_one(item, box) for item in items)]
    return min(fitting, key=lambda b: (b.volume, b.max_weight_grams, b.key), default=None)
