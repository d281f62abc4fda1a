"""`optimal` against independent brute force, CP-SAT, and the heuristics."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orders.routing import CostModel, OrderLine, RoutingOptions, RoutingOrder, route_order
from orders.routing.cpsat import solve_cpsat
from orders.routing.optimal import solve_exact
from orders.routing.problem import build_problem, set_cost
from tests.routing.helpers import (
    BENCH_COSTS,
    brute_force_allocations,
    brute_force_sets,
    loc,
    plan_cost,
    random_instance,
)


def check_plan(result, locations, o, cm) -> None:
    """Stock, capacity and quantity limits hold, and the reported cost re-prices exactly."""
    by_code = {a.code: a for a in locations}
    alloc = {(a.location, a.sku): a.qty for a in result.allocations}
    for (code, sku), qty in alloc.items():
        assert 0 < qty <= by_code[code].stock.get(sku, 0)
        assert by_code[code].remaining_capacity != 0
    ordered = {line.sku: line.qty for line in o.lines}
    for sku, qty in ordered.items():
        shipped = sum(q for (_, s), q in alloc.items() if s == sku)
        assert shipped + result.unfilled.get(sku, 0) == qty
    if o.max_shipments is not None:
        assert len(result.locations_used) <= o.max_shipments
    assert result.total_cost == pytest.approx(plan_cost(cm, o, alloc, locations), abs=1e-9)


def test_optimal_equals_brute_force_over_location_sets():
    rng = random.Random(20250303)
    for _ in range(500):
        cm, locations, o = random_instance(rng)
        result = route_order(o, locations, cm)
        assert result.solver_status == "optimal"
        check_plan(result, locations, o, cm)
        assert result.total_cost == pytest.approx(brute_force_sets(cm, o, locations), abs=1e-9)


def test_optimal_equals_brute_force_over_every_allocation():
    rng = random.Random(7)
    for _ in range(150):
        cm, locations, o = random_instance(rng, max_locations=3, max_lines=2)
        result = route_order(o, locations, cm)
        assert result.total_cost == pytest.approx(brute_force_allocations(cm, o, locations), abs=1e-9)


def sparse_instance(rng: random.Random, n: int, lines: int):
    """Thin, shallow stock so three or four parcels are needed: exercises the deep search."""
    skus = [f"S{j}" for j in range(lines)]
    locations = [loc(f"L{i}", rng.uniform(-10, 10), {s: rng.choice([1, 1, 2]) for s in skus if rng.random() < 0.3},
                     lat=rng.uniform(-10, 10)) for i in range(n)]
    o = RoutingOrder("o", tuple(OrderLine(s, rng.choice([1, 1, 2])) for s in skus), lat=0.0, lng=0.0)
    return locations, o


def test_deep_search_matches_brute_force_on_sparse_stock():
    rng = random.Random(11)
    deep = 0
    for _ in range(60):
        locations, o = sparse_instance(rng, n=9, lines=6)
        result = route_order(o, locations, BENCH_COSTS)
        deep += len(result.locations_used) >= 3
        assert result.total_cost == pytest.approx(brute_force_sets(BENCH_COSTS, o, locations), abs=1e-9)
    assert deep >= 20  # the instances really need three or more parcels


def test_branch_and_bound_agrees_with_cpsat_on_larger_instances():
    rng = random.Random(5)
    for _ in range(12):
        locations, o = sparse_instance(rng, n=30, lines=7)
        p = build_problem(o, locations, BENCH_COSTS)
        exact = solve_exact(p, 10_000)
        reference = solve_cpsat(p, 20_000)
        assert exact.status == reference.status == "optimal"
        assert set_cost(p, exact.chosen) == pytest.approx(exact.cost, abs=1e-9)
        assert exact.cost == pytest.approx(set_cost(p, reference.chosen), abs=1e-9)


def test_cpsat_backend_gives_the_same_cost_through_the_engine():
    rng = random.Random(3)
    for _ in range(20):
        cm, locations, o = random_instance(rng)
        bnb = route_order(o, locations, cm)
        cpsat = route_order(o, locations, cm, options=RoutingOptions(backend="cpsat"))
        assert cpsat.total_cost == pytest.approx(bnb.total_cost, abs=1e-9)


stock_levels = st.dictionaries(st.sampled_from(["A", "B", "C", "D"]), st.integers(0, 4), max_size=4)
location_lists = st.lists(
    st.tuples(st.floats(-5, 5), st.floats(-5, 5), stock_levels, st.sampled_from([None, None, 0, 1])),
    min_size=1, max_size=8,
)
order_lines = st.dictionaries(st.sampled_from(["A", "B", "C", "D"]), st.integers(1, 4), min_size=1, max_size=4)
cost_models = st.builds(
    CostModel,
    per_shipment=st.sampled_from([0.0, 3.0, 8.759, 25.0]),
    per_unit=st.sampled_from([0.0, 0.423]),
    per_unit_km=st.sampled_from([0.000336, 0.02, 0.1]),
    unfilled_unit_penalty=st.sampled_from([4.0, 50.0]),
    split_penalty=st.sampled_from([0.0, 2.0]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(location_lists, order_lines, cost_models, st.sampled_from([None, 1, 2, 3]))
def test_optimal_is_never_dearer_than_rules_or_myopic(raw_locations, lines, cm, max_shipments):
    locations = [loc(f"L{i}", lng, stock, lat=lat, remaining_capacity=cap)
                 for i, (lat, lng, stock, cap) in enumerate(raw_locations)]
    o = RoutingOrder("o", tuple(OrderLine(s, q) for s, q in lines.items()), lat=0.0, lng=0.0,
                     max_shipments=max_shipments)
    best = route_order(o, locations, cm)
    check_plan(best, locations, o, cm)
    for strategy in ("rules", "myopic"):
        other = route_order(o, locations, cm, strategy)
        check_plan(other, locations, o, cm)
        assert best.total_cost <= other.total_cost + 1e-9
    costlier = [c.cost_delta for c in best.candidates if c.reason == "costlier"]
    assert all(delta is not None and delta >= -1e-9 for delta in costlier)
