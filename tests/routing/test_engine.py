"""Sequencing, safety nets, rate cards and explanations."""

from __future__ import annotations

import random

import pytest

import orders.routing.engine as engine
from orders.routing import CostModel, OrderLine, RoutingOptions, RoutingOrder, route_order, route_orders
from tests.routing.helpers import BENCH_COSTS, km, loc, order


def test_orders_in_sequence_deplete_stock_and_capacity():
    locations = [loc("NEAR", 0.1, {"A": 2}, remaining_capacity=2), loc("FAR", 3.0, {"A": 10})]
    orders = [order({"A": 1}, id="o1"), order({"A": 1}, id="o2"), order({"A": 1}, id="o3")]
    results = route_orders(orders, locations, BENCH_COSTS)
    assert [r.locations_used for r in results] == [("NEAR",), ("NEAR",), ("FAR",)]
    assert locations[0].stock == {"A": 2}  # the caller's data is untouched
    capped = [loc("NEAR", 0.1, {"A": 9}, remaining_capacity=1), loc("FAR", 3.0, {"A": 10})]
    results = route_orders(orders[:2], capped, BENCH_COSTS)
    assert [r.locations_used for r in results] == [("NEAR",), ("FAR",)]
    assert {c.location: c.reason for c in results[1].candidates}["NEAR"] == "over_capacity"


def test_solver_crash_falls_back_to_rules(monkeypatch):
    def boom(*_args, **_kwargs):
        raise RuntimeError("solver down")

    monkeypatch.setattr(engine, "solve_exact", boom)
    locations = [loc("NEAR_A", 0.1, {"A": 5}), loc("FAR", 10.0, {"A": 5, "B": 5}), loc("NEAR_B", 0.2, {"B": 5})]
    result = route_order(order({"A": 1, "B": 1}), locations, BENCH_COSTS)
    assert result.solver_status == "fallback_rules"
    assert result.locations_used == ("FAR",)


def stress_instance(seed: int = 1):
    rng = random.Random(seed)
    skus = [f"S{j}" for j in range(10)]
    locations = [loc(f"L{i}", rng.uniform(-10, 10), {s: rng.choice([1, 1, 2]) for s in skus if rng.random() < 0.15},
                     lat=rng.uniform(-10, 10)) for i in range(200)]
    o = RoutingOrder("o", tuple(OrderLine(s, rng.choice([1, 2])) for s in skus), lat=0.0, lng=0.0)
    return locations, o


def test_time_limit_returns_the_best_plan_found_so_far():
    locations, o = stress_instance()
    rushed = route_order(o, locations, BENCH_COSTS, options=RoutingOptions(time_limit_ms=0.0))
    assert rushed.solver_status == "time_limit"
    assert rushed.unfilled == {}  # the local search that seeds the search already fills everything
    proven = route_order(o, locations, BENCH_COSTS, options=RoutingOptions(time_limit_ms=60_000))
    assert proven.solver_status == "optimal"
    assert proven.total_cost <= rushed.total_cost + 1e-9
    assert proven.total_cost <= route_order(o, locations, BENCH_COSTS, "rules").total_cost + 1e-9


def test_rate_card_prices_plans_and_is_reported_as_proxy():
    def rate_card(location, units, grams, distance):
        """6.00 a parcel, 2.00 more above 2 kg, plus 0.001 a km."""
        return 6.0 + (2.0 if grams > 2000 else 0.0) + 0.001 * distance

    locations = [loc("NEAR", 0.1, {"A": 5, "B": 5}), loc("FAR", 2.0, {"B": 5})]
    o = RoutingOrder("o", (OrderLine("A", 2, 800.0), OrderLine("B", 1, 500.0)), lat=0.0, lng=0.0)
    card = CostModel(shipping_fn=rate_card)
    result = route_order(o, locations, card)
    assert result.solver_status == "proxy"
    assert result.locations_used == ("NEAR",)
    assert result.cost.shipping == pytest.approx(8.0 + 0.001 * km(locations[0], o))  # one 2.1 kg parcel
    assert result.total_cost <= route_order(o, locations, card, "rules").total_cost + 1e-9


def test_explanations_give_every_location_a_reason_and_a_price():
    locations = [
        loc("CHOSEN", 1.0, {"A": 5, "B": 5}),
        loc("SPLIT_A", 0.1, {"A": 5}),
        loc("NO_STOCK", 0.0, {"Z": 5}),
        loc("NO_SHIP", 0.0, {"A": 5}, can_ship=False),
        loc("FULL", 0.0, {"A": 5}, remaining_capacity=0),
    ]
    result = route_order(order({"A": 1, "B": 1}), locations, BENCH_COSTS)
    by_code = {c.location: c for c in result.candidates}
    assert [c.location for c in result.candidates][0] == "CHOSEN"
    assert {code: c.reason for code, c in by_code.items()} == {
        "CHOSEN": "chosen", "SPLIT_A": "costlier", "NO_STOCK": "no_stock", "NO_SHIP": "cannot_do_method",
        "FULL": "over_capacity",
    }
    assert by_code["CHOSEN"].detail == "ships A x1, B x1"
    # adding SPLIT_A for A: one more parcel, A travels 11 km instead of 111 km
    saving = 0.000336 * (km(locations[0], order({})) - km(locations[1], order({})))
    assert by_code["SPLIT_A"].cost_delta == pytest.approx(8.759 - saving, abs=1e-4)
    assert by_code["NO_STOCK"].cost_delta is None
    quiet = route_order(order({"A": 1}), locations, BENCH_COSTS, options=RoutingOptions(explain=False))
    assert quiet.candidates == ()
