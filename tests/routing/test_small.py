"""The plain-Python path for small problems (`orders/routing/small.py`) against the numpy
branch and bound it stands in for, and against the independent brute force."""

from __future__ import annotations

import random

import numpy as np
import pytest

from orders.routing import route_order
from orders.routing.explain import cost_deltas_batched
from orders.routing.heuristics import plan_cost
from orders.routing.optimal import BranchAndBound, solve_exact
from orders.routing.problem import build_problem, set_cost
from orders.routing.small import cost_deltas_small, fits, solve_small
from tests.routing.helpers import BENCH_COSTS, brute_force_sets, loc, order, random_instance
from tests.routing.test_optimal_random import sparse_instance


def store_network(rng: random.Random, lines: int):
    """A warehouse holding most of the catalogue and seven stores holding a little of it,
    as in `bench/ingest.py`: most orders ship whole from one place."""
    skus = [f"S{j}" for j in range(30)]
    wanted = rng.sample(skus, lines)
    warehouse = loc("DC", rng.uniform(-1, 1), {s: 100 for s in skus if rng.random() < 0.9}, lat=rng.uniform(-1, 1))
    stores = [loc(f"ST{i}", rng.uniform(-0.3, 0.3), {s: rng.randint(1, 3) for s in skus if rng.random() < 0.3},
                  lat=rng.uniform(-0.3, 0.3)) for i in range(7)]
    return [warehouse, *stores], order({s: rng.randint(1, 2) for s in wanted})


def test_the_branch_and_bound_itself_still_equals_brute_force_on_small_instances():
    rng = random.Random(20261201)
    for _ in range(300):
        cm, locations, o = random_instance(rng)
        p = build_problem(o, locations, cm)
        found = BranchAndBound(p, 10_000).run()
        assert found.status == "optimal"
        assert found.cost == pytest.approx(brute_force_sets(cm, o, locations), abs=1e-9)


def test_small_path_proves_the_same_optimum_as_the_branch_and_bound():
    rng = random.Random(99)
    settled = 0
    for i in range(600):
        cm, locations, o = random_instance(rng) if i % 2 else (BENCH_COSTS, *sparse_instance(rng, n=8, lines=5))
        p = build_problem(o, locations, cm)
        assert fits(p)
        reference = BranchAndBound(p, 10_000).run()
        found = solve_small(p)
        if found is None:  # not provable with two locations: the caller runs the full search
            assert solve_exact(p, 10_000).cost == pytest.approx(reference.cost, abs=1e-9)
            continue
        settled += 1
        chosen, cost = found
        assert len(chosen) <= min(2, p.max_locations)
        assert cost == pytest.approx(reference.cost, abs=1e-9)
        assert set_cost(p, chosen) == pytest.approx(cost, abs=1e-9)
    assert 150 < settled < 600  # both outcomes happen: the sparse instances need 3+ parcels


def test_small_path_settles_a_store_networks_orders_at_the_root():
    rng = random.Random(4)
    for lines in (1, 2, 3, 5):
        for _ in range(25):
            locations, o = store_network(rng, lines)
            p = build_problem(o, locations, BENCH_COSTS)
            found = solve_small(p)
            assert found is not None
            assert found[1] == pytest.approx(brute_force_sets(BENCH_COSTS, o, locations), abs=1e-9)


@pytest.mark.parametrize("strategy", ["optimal", "rules", "myopic"])
def test_explanation_prices_match_the_batched_ones(strategy):
    rng = random.Random(17)
    compared = 0
    for _ in range(200):
        cm, locations, o = random_instance(rng)
        p = build_problem(o, locations, cm)
        if not p.n:
            continue
        result = route_order(o, locations, cm, strategy)
        index = {a.code: i for i, a in enumerate(p.locations)}
        x = np.zeros((p.n, p.k), dtype=np.int64)
        for a in result.allocations:
            x[index[a.location], p.skus.index(a.sku)] += a.qty
        base = plan_cost(p, x)
        small, batched = cost_deltas_small(p, x, base), cost_deltas_batched(p, x, base)
        assert np.array_equal(np.isfinite(small), np.isfinite(batched))
        finite = np.isfinite(small)
        np.testing.assert_allclose(small[finite], batched[finite], rtol=0, atol=1e-9)
        compared += int(finite.sum())
    assert compared > 200


def test_a_delta_is_what_the_named_plan_costs_more():
    """Two locations at the same distance, one also holding a second line: the other is
    'costlier' by exactly one more parcel."""
    locations = [loc("A", 1.0, {"X": 1, "Y": 1}), loc("B", 1.0, {"X": 1})]
    o = order({"X": 1, "Y": 1})
    result = route_order(o, locations, BENCH_COSTS)
    assert result.locations_used == ("A",)
    b = next(c for c in result.candidates if c.location == "B")
    p = build_problem(o, locations, BENCH_COSTS)
    swapped = set_cost(p, [0, 1]) - set_cost(p, [0])
    assert b.reason == "costlier"
    assert b.cost_delta == pytest.approx(round(swapped, 4))
    assert b.cost_delta == pytest.approx(BENCH_COSTS.per_shipment, abs=0.01)
