"""Hand-made cases for `optimal` where the right plan is known and priced by hand."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from orders.routing import CostModel, OrderLine, RoutingOptions, RoutingOrder, route_order
from tests.routing.helpers import BENCH_COSTS, km, loc, order

NOON = datetime(2025, 3, 3, 12, 0)


def plan(result) -> set[tuple[str, str, int]]:
    return {(a.location, a.sku, a.qty) for a in result.allocations}


def reasons(result) -> dict[str, str]:
    return {c.location: c.reason for c in result.candidates}


def two_near_one_far():
    """A and B each held nearby (11 km) by a different store; both held 1112 km away."""
    locations = [loc("NEAR_A", 0.1, {"A": 5}), loc("NEAR_B", -0.1, {"B": 5}), loc("FAR", 10.0, {"A": 5, "B": 5})]
    return locations, order({"A": 1, "B": 1})


def test_single_far_parcel_beats_two_near_ones_when_parcels_are_dear():
    locations, o = two_near_one_far()
    result = route_order(o, locations, BENCH_COSTS)
    assert plan(result) == {("FAR", "A", 1), ("FAR", "B", 1)}
    expected = 8.759 + 2 * (0.423 + 0.000336 * km(locations[2], o))
    assert result.total_cost == pytest.approx(expected, abs=1e-9)
    assert result.solver_status == "optimal"
    assert result.cost.shipping == pytest.approx(expected, abs=1e-9)
    assert result.cost.split_penalty == 0 and result.cost.unfilled_penalty == 0


def test_two_near_parcels_beat_one_far_parcel_when_distance_is_dear():
    locations, o = two_near_one_far()
    costs = CostModel(per_shipment=8.759, per_unit=0.423, per_unit_km=0.01, unfilled_unit_penalty=50.0)
    result = route_order(o, locations, costs)
    assert plan(result) == {("NEAR_A", "A", 1), ("NEAR_B", "B", 1)}
    expected = 2 * 8.759 + 2 * 0.423 + 0.01 * (km(locations[0], o) + km(locations[1], o))
    assert result.total_cost == pytest.approx(expected, abs=1e-9)


def test_split_penalty_tips_the_balance_back_to_one_parcel():
    locations, o = two_near_one_far()
    costs = CostModel(per_shipment=8.759, per_unit=0.423, per_unit_km=0.01, split_penalty=15.0)
    result = route_order(o, locations, costs)
    assert plan(result) == {("FAR", "A", 1), ("FAR", "B", 1)}
    assert result.cost.split_penalty == 0
    split = route_order(o, locations, CostModel(per_shipment=8.759, per_unit_km=0.01, split_penalty=1.0))
    assert plan(split) == {("NEAR_A", "A", 1), ("NEAR_B", "B", 1)}
    assert split.cost.split_penalty == pytest.approx(1.0)
    assert split.total_cost == pytest.approx(2 * 8.759 + 1.0 + 0.01 * (km(locations[0], o) + km(locations[1], o)))


def test_location_without_capacity_is_skipped_and_says_so():
    locations = [loc("NEAR", 0.1, {"A": 5}, remaining_capacity=0), loc("MID", 1.0, {"A": 5}, remaining_capacity=1)]
    o = order({"A": 2})
    result = route_order(o, locations, BENCH_COSTS)
    assert plan(result) == {("MID", "A", 2)}
    assert result.total_cost == pytest.approx(8.759 + 2 * (0.423 + 0.000336 * km(locations[1], o)), abs=1e-9)
    assert reasons(result) == {"MID": "chosen", "NEAR": "over_capacity"}


def test_deadline_excludes_late_locations():
    locations = [
        loc("NEAR_SLOW", 0.1, {"A": 5}, delivery_at=NOON + timedelta(days=3)),
        loc("FAR_FAST", 5.0, {"A": 5}, delivery_at=NOON + timedelta(days=1)),
    ]
    o = order({"A": 1}, deadline=NOON + timedelta(days=2))
    result = route_order(o, locations, BENCH_COSTS)
    assert plan(result) == {("FAR_FAST", "A", 1)}
    assert reasons(result)["NEAR_SLOW"] == "misses_deadline"


def test_deadline_with_late_penalty_lets_late_locations_compete():
    locations = [
        loc("NEAR_SLOW", 0.1, {"A": 5}, delivery_at=NOON + timedelta(days=3)),
        loc("FAR_FAST", 5.0, {"A": 5}, delivery_at=NOON + timedelta(days=1)),
    ]
    o = order({"A": 1}, deadline=NOON + timedelta(days=2))
    cheap_late = CostModel(per_shipment=8.759, per_unit_km=0.01, late_penalty=1.0)
    result = route_order(o, locations, cheap_late)
    assert plan(result) == {("NEAR_SLOW", "A", 1)}
    assert result.cost.late_penalty == pytest.approx(1.0)
    dear_late = CostModel(per_shipment=8.759, per_unit_km=0.01, late_penalty=10.0)
    assert plan(route_order(o, locations, dear_late)) == {("FAR_FAST", "A", 1)}


def test_pickup_ready_time_is_checked_against_the_deadline():
    store = loc("STORE", 0.0, {"A": 1}, can_pickup=True, processing_hours=30)
    o = order({"A": 1}, method="pickup", pickup_location="STORE", deadline=NOON + timedelta(hours=24))
    late = route_order(o, [store], BENCH_COSTS, options=RoutingOptions(now=NOON))
    assert late.allocations == () and reasons(late) == {"STORE": "misses_deadline"}
    on_time = route_order(o, [store], BENCH_COSTS, options=RoutingOptions(now=NOON - timedelta(hours=12)))
    assert plan(on_time) == {("STORE", "A", 1)}


def test_max_shipments_caps_the_split_and_picks_the_best_pair():
    locations = [loc("X", 0.1, {"A": 1}), loc("Y", 0.2, {"B": 1}), loc("Z", 0.3, {"C": 2})]
    o = order({"A": 1, "B": 1, "C": 2}, max_shipments=2)
    result = route_order(o, locations, BENCH_COSTS)
    assert plan(result) == {("X", "A", 1), ("Z", "C", 2)}
    assert result.unfilled == {"B": 1} and result.unfilled_units == 1
    expected = 2 * 8.759 + 3 * 0.423 + 0.000336 * (km(locations[0], o) + 2 * km(locations[2], o)) + 50.0
    assert result.total_cost == pytest.approx(expected, abs=1e-9)
    assert reasons(result)["Y"] == "costlier"


def test_leaves_units_unfilled_when_shipping_them_costs_more_than_the_penalty():
    locations = [loc("ONLY", 1.0, {"A": 5})]
    o = order({"A": 1})
    low_penalty = CostModel(per_shipment=8.759, per_unit=0.423, per_unit_km=0.000336, unfilled_unit_penalty=5.0)
    result = route_order(o, locations, low_penalty)
    assert result.allocations == () and result.unfilled == {"A": 1}
    assert result.total_cost == pytest.approx(5.0)
    assert result.cost.unfilled_penalty == pytest.approx(5.0)
    shipped = route_order(o, locations, BENCH_COSTS)
    assert plan(shipped) == {("ONLY", "A", 1)}


def test_takes_partial_stock_then_tops_up_elsewhere():
    locations = [loc("NEAR", 0.1, {"A": 2}), loc("FAR", 3.0, {"A": 1}), loc("FARTHER", 6.0, {"A": 9})]
    o = order({"A": 3})
    result = route_order(o, locations, BENCH_COSTS)
    assert plan(result) == {("FARTHER", "A", 3)}
    dear_distance = CostModel(per_shipment=1.0, per_unit_km=0.05, unfilled_unit_penalty=50.0)
    assert plan(route_order(o, locations, dear_distance)) == {("NEAR", "A", 2), ("FAR", "A", 1)}


def test_handling_costs_and_weights_are_priced():
    locations = [loc("CHEAP_HANDLING", 2.0, {"A": 5}), loc("DEAR_HANDLING", 0.1, {"A": 5}, handling_per_order=3.0)]
    costs = CostModel(per_shipment=5.0, per_kg_km=0.01)
    light = route_order(order({"A": 2}), locations, costs)  # no weight: distance is free
    assert plan(light) == {("CHEAP_HANDLING", "A", 2)}
    assert light.total_cost == pytest.approx(5.0)
    heavy = RoutingOrder("h", (OrderLine("A", 2, unit_weight_g=1500.0),), lat=0.0, lng=0.0)
    result = route_order(heavy, locations, costs)
    assert plan(result) == {("DEAR_HANDLING", "A", 2)}
    assert result.cost.shipping == pytest.approx(5.0 + 3.0 * 0.01 * km(locations[1], heavy), abs=1e-9)
    assert result.cost.handling == pytest.approx(3.0)


def test_only_the_pickup_store_or_same_day_capable_locations_serve():
    store = loc("STORE", 1.0, {"A": 1}, can_pickup=True)
    other = loc("OTHER", 0.0, {"A": 1}, can_pickup=True, can_same_day=True)
    pickup = route_order(order({"A": 1}, method="pickup", pickup_location="STORE"), [store, other], BENCH_COSTS)
    assert plan(pickup) == {("STORE", "A", 1)}
    assert pickup.total_cost == pytest.approx(8.759 + 0.423)  # 0 km: the customer comes to the store
    assert reasons(pickup)["OTHER"] == "cannot_do_method"
    same_day = route_order(order({"A": 1}, method="same_day"), [store, other], BENCH_COSTS)
    assert plan(same_day) == {("OTHER", "A", 1)}
    assert reasons(same_day)["STORE"] == "cannot_do_method"


def test_nothing_eligible_means_everything_unfilled():
    result = route_order(order({"A": 2, "B": 1}), [loc("EMPTY", 0.0, {"C": 3})], BENCH_COSTS)
    assert result.allocations == ()
    assert result.unfilled == {"A": 2, "B": 1}
    assert result.total_cost == pytest.approx(150.0)
    assert result.solver_status == "optimal"
    assert reasons(result) == {"EMPTY": "no_stock"}


def test_repeated_sku_lines_are_merged():
    o = RoutingOrder("dup", (OrderLine("A", 1), OrderLine("A", 2)), lat=0.0, lng=0.0)
    result = route_order(o, [loc("S", 0.1, {"A": 2}), loc("T", 0.2, {"A": 5})], BENCH_COSTS)
    assert plan(result) == {("T", "A", 3)}
