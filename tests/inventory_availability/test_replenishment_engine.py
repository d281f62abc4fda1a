"""The replenishment maths (inventory.engine.replenishment), without a database."""

from __future__ import annotations

import pytest

from inventory.engine.replenishment import (
    LevelFigures,
    Suggestion,
    days_of_cover,
    excess_units,
    is_excess,
    shortfall,
    suggest_transfers,
    velocity_per_day,
)


def lv(location, available, *, sku=1, incoming=0, point=0, target=0, sold=0, warehouse=False):
    return LevelFigures(stock_level_id=location * 100 + sku, sku_id=sku, location_id=location, available=available,
                        incoming=incoming, reorder_point=point, reorder_target=target, units_sold=sold,
                        is_warehouse=warehouse)


@pytest.mark.parametrize(("level", "expected"), [
    (lv(1, 2, point=4, target=12), 10),
    (lv(1, 4, point=4, target=12), 8),              # at the reorder point counts
    (lv(1, 5, point=4, target=12), 0),              # above it
    (lv(1, 2, incoming=3, point=4, target=12), 0),  # incoming units count: 5 > 4
    (lv(1, 1, incoming=2, point=4, target=12), 9),
    (lv(1, 0, point=0, target=0), 0),               # target 0: not managed
    (lv(1, 3, point=5, target=4), 1),
    (lv(1, 5, point=5, target=4), 0),               # a target below the position asks for nothing
])
def test_shortfall_brings_a_level_at_or_below_its_reorder_point_back_to_target(level, expected):
    assert shortfall(level) == expected


def test_velocity_and_days_of_cover():
    assert velocity_per_day(28, 28) == 1.0
    assert velocity_per_day(7, 28) == 0.25
    assert days_of_cover(72, 28, 28) == 72.0
    assert days_of_cover(10, 7, 28) == 40.0
    assert days_of_cover(10, 0, 28) is None  # nothing sold: infinite cover


@pytest.mark.parametrize(("level", "excess", "units"), [
    (lv(1, 26, point=2, target=6, sold=1), True, 20),      # keep max(2, 6, ceil(1*90/28)=4) = 6
    (lv(1, 100, sold=28), True, 10),                        # 100 days > 90; keep ceil(28*90/28) = 90
    (lv(1, 90, sold=28), False, 0),                         # exactly 90 days is not more than 90
    (lv(1, 72, point=20, sold=28), False, 0),               # 72 days of cover
    (lv(1, 40), True, 40),                                  # never sold, not managed
    (lv(1, 40, point=10, target=30), True, 10),
    (lv(1, 6, target=6), False, 0),                         # not above target
    (lv(1, 200, point=150, target=100, sold=28), True, 50),  # keeps its reorder point (150 > 100 > 90)
])
def test_excess_needs_more_than_threshold_days_of_cover_and_more_than_target(level, excess, units):
    assert is_excess(level, 28, 90) is excess
    assert excess_units(level, 28, 90) == units


def test_a_need_takes_from_excess_first_then_the_warehouse_with_most_available():
    needs = [lv(1, 2, point=4, target=30), lv(3, 5, point=5, target=8)]  # need 28, need 3
    excess = [lv(2, 26, point=2, target=6, sold=1)]  # 20 to give
    warehouses = [lv(8, 30, point=10, warehouse=True), lv(9, 72, point=20, warehouse=True)]  # give 20, 52
    suggestions = suggest_transfers(needs, excess, warehouses, window_days=28, threshold_days=90)
    assert suggestions == [Suggestion(1, 2, 1, 20, "excess"), Suggestion(1, 9, 1, 8, "warehouse"),
                           Suggestion(1, 9, 3, 3, "warehouse")]


def test_a_source_is_never_the_destination_nor_a_needy_level_nor_another_sku():
    needs = [lv(1, 0, point=2, target=5), lv(2, 0, sku=2, point=1, target=4)]
    excess = [lv(1, 50, sku=2), lv(2, 50)]  # location 2 holds excess of SKU 1, location 1 of SKU 2
    warehouses = [lv(1, 60, warehouse=True)]  # the needy location itself
    suggestions = suggest_transfers(needs, excess, warehouses, window_days=28, threshold_days=90)
    assert suggestions == [Suggestion(1, 2, 1, 5, "excess"), Suggestion(2, 1, 2, 4, "excess")]


def test_capacity_is_shared_across_needs_and_an_unmet_need_gets_what_there_is():
    needs = [lv(1, 0, point=1, target=6), lv(2, 0, point=1, target=6)]
    warehouses = [lv(9, 9, point=1, warehouse=True), lv(8, 9, point=0)]  # 8 is not a warehouse
    assert suggest_transfers(needs, [], warehouses, window_days=28, threshold_days=90) == [
        Suggestion(1, 9, 1, 6, "warehouse"), Suggestion(1, 9, 2, 2, "warehouse")]
