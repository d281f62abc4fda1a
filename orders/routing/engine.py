"""Entry points: route one order, or a sequence of orders that deplete shared stock.

Solver status values:
  optimal         proven minimum cost (exact search finished)
  time_limit      exact search hit the time limit: the best plan found so far (a local
                  optimum at worst), not proven optimal
  fallback_rules  the exact solver failed (exception, or CP-SAT found no solution): rules plan
  proxy           a rate card (shipping_fn) is in use: exact on its linear proxy, then the
                  cheaper of that plan and the rules plan under the real rate card
  heuristic       rules or myopic strategy
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import replace

import numpy as np

from orders.routing.cpsat import solve_cpsat
from orders.routing.explain import explain
from orders.routing.heuristics import RulePlan, rule_pool, solve_myopic
from orders.routing.models import (
    RULE_NAMES,
    Allocation,
    CandidateLocation,
    CostModel,
    RoutingOptions,
    RoutingOrder,
    RoutingResult,
)
from orders.routing.optimal import solve_exact
from orders.routing.problem import EPS, Problem, breakdown, build_problem, fill

STRATEGIES = ("optimal", "rules", "myopic")


def route_order(
    order: RoutingOrder,
    locations: Sequence[CandidateLocation],
    cost_model: CostModel,
    strategy: str = "optimal",
    options: RoutingOptions | None = None,
) -> RoutingResult:
    """Route one order over the candidate locations; nothing is mutated.

    `solve_ms` covers screening, building the problem and the search (what the caller
    waits for to get a decision); the candidate explanations are extra.
    """
    options = options or RoutingOptions()
    _validate(strategy, options)
    started = time.perf_counter()
    p = build_problem(order, locations, cost_model, options)
    x, status, pool = _solve(p, strategy, options)
    solve_ms = (time.perf_counter() - started) * 1000.0
    reports = explain(p, x, strategy, pool, options.rules) if options.explain else ()
    return RoutingResult(
        order_id=order.id,
        strategy=strategy,
        allocations=_allocations(p, x),
        unfilled={sku: v for sku, v in zip(p.skus, (p.qty - x.sum(axis=0)).tolist(), strict=True) if v > 0},
        cost=breakdown(p, x),
        solve_ms=solve_ms,
        solver_status=status,
        candidates=reports,
    )


def route_orders(
    orders: Iterable[RoutingOrder],
    locations: Sequence[CandidateLocation],
    cost_model: CostModel,
    strategy: str = "optimal",
    options: RoutingOptions | None = None,
) -> list[RoutingResult]:
    """Route orders in sequence; each one sees the stock and capacity the previous left."""
    stocks = [dict(loc.stock) for loc in locations]
    current = [replace(loc, stock=stock) for loc, stock in zip(locations, stocks, strict=True)]
    index = {loc.code: i for i, loc in enumerate(current)}
    results = []
    for order in orders:
        result = route_order(order, current, cost_model, strategy, options)
        for a in result.allocations:
            stock = stocks[index[a.location]]
            stock[a.sku] = stock.get(a.sku, 0) - a.qty
        for code in result.locations_used:
            loc = current[index[code]]
            if loc.remaining_capacity is not None:
                current[index[code]] = replace(loc, remaining_capacity=loc.remaining_capacity - 1)
        results.append(result)
    return results


def _validate(strategy: str, options: RoutingOptions) -> None:
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; expected one of {STRATEGIES}")
    unknown = [r for r in options.rules if r not in RULE_NAMES]
    if unknown:
        raise ValueError(f"unknown rules {unknown}; expected some of {RULE_NAMES}")


def _allocations(p: Problem, x: np.ndarray) -> tuple[Allocation, ...]:
    return tuple(Allocation(loc.code, sku, units) for loc, row in zip(p.locations, x.tolist(), strict=True)
                 for sku, units in zip(p.skus, row, strict=True) if units > 0)


def _solve(p: Problem, strategy: str, options: RoutingOptions) -> tuple[np.ndarray, str, list[RulePlan]]:
    if p.n == 0:
        return fill(p, []), "optimal" if strategy == "optimal" else "heuristic", []
    if strategy == "myopic":
        return solve_myopic(p), "heuristic", []
    if strategy == "rules":
        pool = rule_pool(p, options.rules, options.ranking)
        return pool[0].alloc, "heuristic", pool
    return _solve_optimal(p, options)


def _solve_optimal(p: Problem, options: RoutingOptions) -> tuple[np.ndarray, str, list[RulePlan]]:
    """Exact search; the rules plan is the safety net when the solver fails.

    A timed-out search still has a plan (its incumbent), which is returned as is. With
    a rate card the arrays are a proxy, so the proxy optimum is compared with the rules
    plan under the real rate card and the cheaper one wins.
    """
    chosen: list[int] = []
    try:
        solve = solve_cpsat if options.backend == "cpsat" else solve_exact
        found = solve(p, options.time_limit_ms)
        status, chosen = found.status, found.chosen
    except Exception:  # a solver crash must not stop order flow: fall back to rules
        status = "failed"
    if status != "failed" and p.linear:
        return fill(p, chosen), status, []
    fallback = rule_pool(p, options.rules, options.ranking)[0].alloc
    if status == "failed":
        return fallback, "fallback_rules", []
    x = fill(p, chosen)
    return (fallback if breakdown(p, fallback).total < breakdown(p, x).total - EPS else x), "proxy", []
