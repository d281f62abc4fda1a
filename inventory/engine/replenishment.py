"""Replenishment maths: which stock levels need units, which hold too many, and which
transfers would move the one to the other. Pure Python, no Django imports.

Definitions (kept by tests/inventory_availability/test_replenishment_engine.py):

- A stock level is managed when its reorder_target (max) is above 0.
- It needs replenishment when available + incoming <= reorder_point (min); the suggested
  quantity brings it back to the target: reorder_target - (available + incoming).
- Velocity is units sold per day over the window: on_hand outflows with the reasons in
  SALE_REASONS, summed over the last `window_days`, divided by `window_days`.
- Days of cover = available / velocity (None when nothing sold: infinite cover).
- Excess: available > reorder_target and days of cover > threshold_days. The excess units
  are what can leave while keeping the reorder point, the target and threshold_days of
  cover: available - max(reorder_point, reorder_target, ceil(velocity * threshold_days)).
- A suggestion pairs a needy level with sources of the same SKU: excess sources first
  (most excess units first), then warehouses by most available (a warehouse gives what it
  has above its own reorder point). A need may be split over several sources; a source is
  never the destination and is never used beyond its capacity across suggestions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

SALE_REASONS = ("ship", "pickup", "pos_sale")
SOURCE_EXCESS = "excess"
SOURCE_WAREHOUSE = "warehouse"


@dataclass(frozen=True)
class LevelFigures:
    stock_level_id: int
    sku_id: int
    location_id: int
    available: int
    incoming: int
    reorder_point: int
    reorder_target: int
    units_sold: int = 0
    is_warehouse: bool = False


@dataclass(frozen=True)
class Suggestion:
    sku_id: int
    source_location_id: int
    destination_location_id: int
    quantity: int
    source_reason: str


def velocity_per_day(units_sold: int, window_days: int) -> float:
    return units_sold / window_days if window_days > 0 else 0.0


def days_of_cover(available: int, units_sold: int, window_days: int) -> float | None:
    """Days the available units last at the window's sales rate; None when nothing sold."""
    if units_sold <= 0:
        return None
    return available * window_days / units_sold


def shortfall(level: LevelFigures) -> int:
    """Units to bring a managed level at or below its reorder point back to its target."""
    if level.reorder_target <= 0:
        return 0
    position = level.available + level.incoming
    if position > level.reorder_point:
        return 0
    return max(0, level.reorder_target - position)


def is_excess(level: LevelFigures, window_days: int, threshold_days: int) -> bool:
    if level.available <= level.reorder_target:
        return False
    # days of cover > threshold, in integers: available * window > threshold * sold
    return level.units_sold <= 0 or level.available * window_days > threshold_days * level.units_sold


def excess_units(level: LevelFigures, window_days: int, threshold_days: int) -> int:
    if not is_excess(level, window_days, threshold_days):
        return 0
    cover_units = -(-level.units_sold * threshold_days // window_days)  # ceil(velocity * threshold)
    return max(0, level.available - max(level.reorder_point, level.reorder_target, cover_units))


def warehouse_givable(level: LevelFigures) -> int:
    return max(0, level.available - level.reorder_point)


def _source_pool(excess: Iterable[LevelFigures], warehouses: Iterable[LevelFigures], window_days: int,
                 threshold_days: int) -> dict[int, list[tuple[int, int, str]]]:
    """sku_id -> [(location_id, capacity, reason)] in the order sources are drawn from."""
    capacity: dict[tuple[int, int], tuple[int, str]] = {}
    for level in excess:
        units = excess_units(level, window_days, threshold_days)
        if units > 0:
            capacity[(level.sku_id, level.location_id)] = (units, SOURCE_EXCESS)
    for level in warehouses:
        key = (level.sku_id, level.location_id)
        units = warehouse_givable(level)
        if level.is_warehouse and units > 0 and key not in capacity:
            capacity[key] = (units, SOURCE_WAREHOUSE)
    pool: dict[int, list[tuple[int, int, str]]] = {}
    for (sku_id, location_id), (units, reason) in capacity.items():
        pool.setdefault(sku_id, []).append((location_id, units, reason))
    for sources in pool.values():
        sources.sort(key=lambda s: (s[2] != SOURCE_EXCESS, -s[1], s[0]))
    return pool


def suggest_transfers(needs: Iterable[LevelFigures], excess: Iterable[LevelFigures],
                      warehouses: Iterable[LevelFigures], *, window_days: int,
                      threshold_days: int) -> list[Suggestion]:
    """Greedy pairing of needs (in the order given) with the source pool."""
    needs = list(needs)
    needy = {(level.sku_id, level.location_id) for level in needs if shortfall(level) > 0}
    pool = _source_pool(excess, warehouses, window_days, threshold_days)
    left = {(sku, loc): units for sku, sources in pool.items() for loc, units, _ in sources}
    suggestions: list[Suggestion] = []
    for level in needs:
        wanted = shortfall(level)
        for location_id, _, reason in pool.get(level.sku_id, []):
            key = (level.sku_id, location_id)
            if wanted == 0:
                break
            if location_id == level.location_id or key in needy or left[key] == 0:
                continue
            quantity = min(wanted, left[key])
            left[key] -= quantity
            wanted -= quantity
            suggestions.append(Suggestion(level.sku_id, location_id, level.location_id, quantity, reason))
    return suggestions
