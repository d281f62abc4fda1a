"""The `rules` strategy (each rule breaks the ties the previous one left) and `myopic`."""

from __future__ import annotations

import pytest

from orders.routing import RoutingOptions, route_order
from tests.routing.helpers import BENCH_COSTS, loc, order


def network(**extra):
    """A and B held apart nearby, together further out (MID_AB at 111 km, FAR_AB at 222 km)."""
    return [
        loc("NEAR_A", 0.1, {"A": 5}),
        loc("NEAR_B", 0.2, {"B": 5}),
        loc("MID_AB", 1.0, extra.get("mid_stock", {"A": 1, "B": 1}), handling_per_order=extra.get("mid_handling", 0.0)),
        loc("FAR_AB", 2.0, {"A": 10, "B": 10}),
    ]


def rules(*names: str, ranking: tuple[str, ...] = ()) -> RoutingOptions:
    return RoutingOptions(rules=names, ranking=ranking)


def used(result) -> set[str]:
    return set(result.locations_used)


AB = order({"A": 1, "B": 1})


def test_default_rules_fewest_parcels_then_closest():
    result = route_order(AB, network(), BENCH_COSTS, "rules")
    assert used(result) == {"MID_AB"}
    assert result.solver_status == "heuristic"
    why = {c.location: c.detail for c in result.candidates}
    assert why["FAR_AB"].startswith("lost on closest")
    assert why["NEAR_A"].startswith("lost on min_splits")


def test_closest_alone_prefers_two_near_parcels():
    result = route_order(AB, network(), BENCH_COSTS, "rules", rules("closest"))
    assert used(result) == {"NEAR_A", "NEAR_B"}


def test_ranked_breaks_the_min_splits_tie_and_closest_breaks_the_ranked_tie():
    ranked = route_order(AB, network(), BENCH_COSTS, "rules", rules("min_splits", "ranked", "closest", ranking=("FAR_AB",)))
    assert used(ranked) == {"FAR_AB"}
    unranked = route_order(AB, network(), BENCH_COSTS, "rules", rules("min_splits", "ranked", "closest"))
    assert used(unranked) == {"MID_AB"}


def test_ranked_first_beats_fewer_splits():
    ranking = ("NEAR_A", "NEAR_B")
    first = route_order(AB, network(), BENCH_COSTS, "rules", rules("ranked", "min_splits", ranking=ranking))
    assert used(first) == {"NEAR_A", "NEAR_B"}
    second = route_order(AB, network(), BENCH_COSTS, "rules", rules("min_splits", "ranked", ranking=ranking))
    assert used(second) == {"FAR_AB"}  # MID_AB and FAR_AB tie on rank: location code decides


def test_cheapest_breaks_the_tie_by_plan_cost():
    locations = network(mid_handling=5.0)
    assert used(route_order(AB, locations, BENCH_COSTS, "rules", rules("min_splits", "cheapest"))) == {"FAR_AB"}
    assert used(route_order(AB, locations, BENCH_COSTS, "rules", rules("min_splits", "closest"))) == {"MID_AB"}


def test_most_stock_prefers_the_deeper_location():
    result = route_order(AB, network(), BENCH_COSTS, "rules", rules("min_splits", "most_stock"))
    assert used(result) == {"FAR_AB"}


def test_filling_everything_comes_before_any_rule():
    locations = [loc("X", 0.1, {"A": 1, "B": 1}), loc("Y", 0.2, {"A": 1})]
    result = route_order(order({"A": 2, "B": 1}), locations, BENCH_COSTS, "rules")
    assert {(a.location, a.sku, a.qty) for a in result.allocations} == {("X", "A", 1), ("X", "B", 1), ("Y", "A", 1)}
    assert result.unfilled == {}


def test_rules_respect_max_shipments():
    locations = [loc("X", 0.1, {"A": 1}), loc("Y", 0.2, {"B": 2}), loc("Z", 0.3, {"C": 1})]
    result = route_order(order({"A": 1, "B": 2, "C": 1}, max_shipments=1), locations, BENCH_COSTS, "rules")
    assert used(result) == {"Y"}
    assert result.unfilled == {"A": 1, "C": 1}


def test_unknown_rule_or_strategy_is_refused():
    with pytest.raises(ValueError, match="unknown rules"):
        route_order(AB, network(), BENCH_COSTS, "rules", rules("min_splits", "fastest"))
    with pytest.raises(ValueError, match="unknown strategy"):
        route_order(AB, network(), BENCH_COSTS, "greedy")


def test_myopic_takes_each_line_from_its_nearest_holder_and_spills_over():
    result = route_order(order({"A": 7, "B": 1}), network(), BENCH_COSTS, "myopic")
    assert {(a.location, a.sku, a.qty) for a in result.allocations} == {
        ("NEAR_A", "A", 5), ("MID_AB", "A", 1), ("FAR_AB", "A", 1), ("NEAR_B", "B", 1),
    }
    assert result.solver_status == "heuristic"
    assert {c.location: c.reason for c in result.candidates} == {
        "NEAR_A": "chosen", "NEAR_B": "chosen", "MID_AB": "chosen", "FAR_AB": "chosen",
    }


def test_myopic_does_not_open_more_parcels_than_allowed():
    result = route_order(order({"A": 1, "B": 1}, max_shipments=1), network(), BENCH_COSTS, "myopic")
    assert used(result) == {"NEAR_A"}
    assert result.unfilled == {"B": 1}
    assert result.total_cost == pytest.approx(
        8.759 + 0.423 + 0.000336 * 11.119492664455874 + 50.0, abs=1e-9
    )
